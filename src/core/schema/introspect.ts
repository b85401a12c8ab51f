/**
 * Introspection: each backend's catalog reader (backends/<name>/introspect.ts) runs one
 * query per call (never one per table or column) and maps it back to the portable
 * schema. A table created from a portable schema reads back as that schema; what has
 * no portable form comes back as `native` rather than being dropped. Here: which of
 * those tables a caller sees.
 */
import type { ReadFilter, SchemaSupport } from '../backends/contract/schema.js';
import { BOOKKEEPING_SCHEMA, isBookkeeping } from '../bookkeeping.js';
import type { ServerInfo, Session } from '../dialect.js';
import type { Table } from './model.js';

export type { ReadFilter } from '../backends/contract/schema.js';

export interface ReadContext {
  /** The schema part of the connection's backend module: its catalog reader. */
  schema: SchemaSupport;
  /** The server, for catalog differences within a backend (MariaDB's CHECK_CONSTRAINTS). */
  info: ServerInfo;
}

/** The portable schema of every table the filter selects, sorted by schema and name. */
export async function readTables(s: Session, rc: ReadContext, f: ReadFilter): Promise<Table[]> {
  const all = await rc.schema.readTables(s, f, rc.info);
  if (f.internal || f.table !== undefined || f.schema === BOOKKEEPING_SCHEMA) return all;
  return all.filter((t) => !isBookkeeping(t));
}
