/** mysql: the schema part of the backend module (contract/schema.ts). */
import type { SchemaSupport } from '../contract/schema.js';
import { mysqlAlter } from './alter.js';
import { mysqlFlavor, mysqlFlavorOptions } from './ddl.js';
import { readMysqlTables } from './introspect.js';

export const schema: SchemaSupport = {
  namespaces: false,
  flavorOptions: mysqlFlavorOptions,
  flavor: (opts) => mysqlFlavor(opts),
  readTables: readMysqlTables,
  alter: { kind: 'statements', statements: mysqlAlter },
};
