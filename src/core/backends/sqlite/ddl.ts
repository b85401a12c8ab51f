/** sqlite: the DDL flavour (contract/schema.ts SchemaFlavor): declared types, INTEGER PRIMARY KEY, json as checked TEXT. */
import type { SchemaFlavor } from '../contract/schema.js';
import { doubled, sized } from '../../schema/sql-text.js';
import { sqliteLexer } from './lexer.js';

/** `real` is declared REAL, SQLite's one float, 8 bytes: it reads back as `double` (introspect.ts). */
const TYPES: Record<string, string> = {
  integer: 'INT', bigint: 'BIGINT', smallint: 'SMALLINT', real: 'REAL', double: 'DOUBLE', boolean: 'BOOLEAN',
  text: 'TEXT', date: 'DATE', time: 'TIME', timestamp: 'TIMESTAMP', timestamptz: 'TIMESTAMPTZ', uuid: 'UUID', json: 'TEXT', binary: 'BLOB',
};

export function sqliteFlavor(): SchemaFlavor {
  return {
    backend: 'sqlite', lexer: sqliteLexer, quote: doubled('"'), string: (t) => `'${t.replace(/'/g, "''")}'`, boolean: (b) => (b ? '1' : '0'),
    // Only `INTEGER PRIMARY KEY` makes SQLite assign keys (the rowid alias).
    type: (spec, auto) => (auto ? 'INTEGER' : sized(spec, true) ?? TYPES[spec.kind]),
    autoIncrement: 'PRIMARY KEY AUTOINCREMENT', autoIncrementAfterType: false, autoIncrementIsKey: true,
    now: () => 'CURRENT_TIMESTAMP', today: 'CURRENT_DATE',
    // `main` is the connection's own database, the one every table is created in.
    namespaces: false, acceptsSchema: (schema) => schema === 'main', checkTable: () => undefined,
    jsonCheck: true, comments: 'none', inlineIndexes: false,
    uniqueKey: (name, column) => `CONSTRAINT ${name} UNIQUE (${column})`,
    tableSuffix: '',
  };
}
