/**
 * postgres: where the migration history lives (its own schema where the account may make
 * it) and how tables an older version made on the search_path move there.
 */
import { DbError } from '../../../errors.js';
import type { BookkeepingProbe, Place } from '../contract/migrations.js';
import { BOOKKEEPING_SCHEMA, EVENTS_TABLE, HISTORY_TABLE, LOCK_TABLE } from '../../bookkeeping.js';
import type { Session } from '../../dialect.js';
import { doubled } from '../../schema/sql-text.js';

const quoteIdent = doubled('"');

const PLACE = `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '${BOOKKEEPING_SCHEMA}') AS ours,
  has_database_privilege(current_database(), 'CREATE') AS can_create,
  (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = '${HISTORY_TABLE}' AND c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false))
     ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1) AS legacy,
  (SELECT x FROM unnest(current_schemas(false)) WITH ORDINALITY AS t(x, i) WHERE has_schema_privilege(x, 'CREATE') ORDER BY i LIMIT 1) AS writable`;

/**
 * Our own schema where possible. An account without CREATE on the database (usual least
 * privilege on PostgreSQL 15+) cannot make it, and CREATE SCHEMA IF NOT EXISTS checks that
 * privilege before it looks: such an account keeps the tables in its schema.
 */
async function bookkeepingSchema(s: Session): Promise<string> {
  const [r] = await s.query(PLACE);
  if (r?.ours === true || r?.can_create === true) return BOOKKEEPING_SCHEMA;
  const schema = r?.legacy ?? r?.writable;
  if (typeof schema === 'string') return schema;
  throw new DbError(
    'PERMISSION_DENIED',
    `the migration history needs a schema: the account may neither create schema "${BOOKKEEPING_SCHEMA}" (CREATE on the database) nor create tables in a schema of its search_path; create the schema for it (CREATE SCHEMA ${BOOKKEEPING_SCHEMA} AUTHORIZATION <account>) or grant CREATE on a schema`,
  );
}

export async function postgresPlace(s: Session): Promise<Place> {
  const schema = await bookkeepingSchema(s);
  const at = (table: string): string => `${quoteIdent(schema)}."${table}"`;
  return { schema, history: at(HISTORY_TABLE), events: at(EVENTS_TABLE), locks: at(LOCK_TABLE) };
}

export const postgresProbe = (p: Place): BookkeepingProbe => ({
  text: `SELECT to_regclass($1) IS NOT NULL AS history, to_regclass($2) IS NOT NULL AS events,
  EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'id' AND NOT attisdropped) AS events_id`,
  params: [p.history, p.events],
});

/** The schema of search_path (as an older version resolved it) holding a table of ours, if any. */
const LEGACY = `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) AND n.nspname <> '${BOOKKEEPING_SCHEMA}'
  ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1`;

/** Creates our schema when the place is ours, then moves in (ALTER TABLE … SET SCHEMA, rows and all) the tables an older version left elsewhere. */
export async function preparePostgres(s: Session, p: Place): Promise<void> {
  const own = p.schema === BOOKKEEPING_SCHEMA;
  // Checks CREATE on the database even when the schema exists: only when it does not.
  const [exists] = await s.query(`SELECT 1 AS x FROM pg_namespace WHERE nspname = '${BOOKKEEPING_SCHEMA}'`);
  if (own && !exists) await s.run([`CREATE SCHEMA IF NOT EXISTS "${BOOKKEEPING_SCHEMA}"`]);
  const probe = postgresProbe(p);
  const [found] = await s.query(probe.text, probe.params);
  const moves: string[] = [];
  for (const [table, here] of [[HISTORY_TABLE, found?.history === true], [EVENTS_TABLE, found?.events === true]] as const) {
    if (here || !own) continue;
    const [legacy] = await s.query(LEGACY, [table]);
    if (legacy) moves.push(`ALTER TABLE ${quoteIdent(String(legacy.schema))}."${table}" SET SCHEMA "${BOOKKEEPING_SCHEMA}"`);
  }
  if (moves.length) await s.run(moves);
}
