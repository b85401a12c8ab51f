/** sqlite: the schema part of the backend module (contract/schema.ts). */
import type { SchemaSupport } from '../contract/schema.js';
import { sqliteFlavor } from './ddl.js';
import { readSqliteTables } from './introspect.js';
import { runSqliteAlter } from './rebuild.js';

export const schema: SchemaSupport = {
  namespaces: false,
  // nativeUuid concerns MySQL only: SQLite keeps any declared type name.
  flavorOptions: () => ({ nativeUuid: true }),
  flavor: () => sqliteFlavor(),
  readTables: (s, filter) => readSqliteTables(s, filter),
  alter: { kind: 'stepwise', run: runSqliteAlter },
};
