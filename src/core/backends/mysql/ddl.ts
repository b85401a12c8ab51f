/**
 * mysql: the DDL flavour (contract/schema.ts SchemaFlavor) for MySQL and MariaDB:
 * upper-case types, AUTO_INCREMENT, KEY clauses and comments inside CREATE TABLE,
 * and what the server refuses that the portable schema allows.
 */
import { DbError } from '../../../errors.js';
import type { FlavorOptions, SchemaFlavor } from '../contract/schema.js';
import type { ServerInfo } from '../../dialect.js';
import { columnSpec, type Table } from '../../schema/model.js';
import { doubled, sized } from '../../schema/sql-text.js';
import { mysqlLexer } from './lexer.js';

const TYPES: Record<string, string> = {
  integer: 'INT', bigint: 'BIGINT', smallint: 'SMALLINT', real: 'FLOAT', double: 'DOUBLE', boolean: 'TINYINT(1)',
  text: 'LONGTEXT', date: 'DATE', time: 'TIME(6)', timestamp: 'DATETIME(6)', timestamptz: 'TIMESTAMP(6)', uuid: 'UUID', json: 'JSON', binary: 'LONGBLOB',
};

/** Column types MySQL cannot put in a key without a prefix length. */
const UNINDEXABLE = new Set(['text', 'json', 'binary']);

/** MySQL identifiers are limited to the Basic Multilingual Plane, and keys need indexable types. */
function checkTable(t: Table): void {
  const names = [t.table, ...t.columns.map((c) => c.name), ...t.indexes.map((i) => i.name)];
  const astral = names.find((n) => /[\u{10000}-\u{10FFFF}]/u.test(n));
  if (astral) throw new DbError('INVALID_INPUT', `MySQL identifiers cannot hold characters outside the Basic Multilingual Plane (emoji): "${astral}"`, { field: 'schema' });
  const keyed = new Set([...t.indexes.filter((i) => !i.native).flatMap((i) => i.columns), ...t.columns.filter((c) => c.primary_key || c.unique).map((c) => c.name)].map((n) => n.toLowerCase()));
  const bad = t.columns.find((c) => keyed.has(c.name.toLowerCase()) && UNINDEXABLE.has(columnSpec(c).kind));
  if (bad) {
    throw new DbError('INVALID_INPUT', `MySQL cannot index ${bad.type} column "${bad.name}" (a key, unique or index needs a length): use varchar(n) or char(n)`, { field: 'schema.columns', column: bad.name });
  }
}

export function mysqlFlavor(opts: FlavorOptions = { nativeUuid: true }): SchemaFlavor {
  return {
    backend: 'mysql', lexer: mysqlLexer, quote: doubled('`'), string: (t) => `'${t.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`, boolean: (b) => (b ? '1' : '0'),
    type: (spec) => sized(spec, true) ?? (spec.kind === 'uuid' && !opts.nativeUuid ? 'CHAR(36)' : TYPES[spec.kind]),
    autoIncrement: 'AUTO_INCREMENT', autoIncrementAfterType: false, autoIncrementIsKey: false,
    now: (spec) => (['timestamp', 'timestamptz', 'time'].includes(spec.kind) ? 'CURRENT_TIMESTAMP(6)' : 'CURRENT_TIMESTAMP'),
    today: '(CURRENT_DATE)',
    namespaces: false, acceptsSchema: () => false, checkTable, unkeyable: (c) => UNINDEXABLE.has(columnSpec(c).kind),
    jsonCheck: false, comments: 'inline', inlineIndexes: true,
    uniqueKey: (name, column) => `UNIQUE KEY ${name} (${column})`,
    tableSuffix: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
  };
}

/** MariaDB has a UUID type from 10.7; MySQL has none. */
export function mysqlFlavorOptions(info: ServerInfo): FlavorOptions {
  const m = /^(\d+)\.(\d+)/.exec(info.server_version);
  const version = m ? Number(m[1]) * 100 + Number(m[2]) : 0;
  return { nativeUuid: info.flavor === 'mariadb' && version >= 1007 };
}
