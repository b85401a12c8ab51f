/** postgres: the schema part of the backend module (contract/schema.ts). */
import type { SchemaSupport } from '../contract/schema.js';
import { postgresAlter } from './alter.js';
import { postgresFlavor } from './ddl.js';
import { readPostgresTables } from './introspect.js';

export const schema: SchemaSupport = {
  namespaces: true,
  // nativeUuid concerns MySQL only: PostgreSQL always has uuid.
  flavorOptions: () => ({ nativeUuid: true }),
  flavor: () => postgresFlavor(),
  readTables: (s, filter) => readPostgresTables(s, filter),
  alter: { kind: 'statements', statements: postgresAlter },
};
