/**
 * A backend's DDL flavour by name (SPEC.md "Type table"): its module's. The flavours
 * themselves live in the backend folders (backends/<name>/ddl.ts); the neutral
 * pieces they share are in sql-text.ts, re-exported here for callers that know
 * a backend only by name. This file imports the list of backends: backend modules
 * never import it.
 */
import { backendModule, type Backend } from '../backends/lookup.js';
import type { FlavorOptions, SchemaFlavor } from '../backends/contract/schema.js';

export type { FlavorOptions, SchemaFlavor } from '../backends/contract/schema.js';
export { checkExpression, defaultSql, portableExpression } from './sql-text.js';

/** The flavour of a backend named in a manifest or a test; without options, the newest server's. */
export function schemaFlavor(backend: Backend, opts?: FlavorOptions): SchemaFlavor {
  return backendModule(backend).schema.flavor(opts);
}
