/**
 * Creating, and moving into place, the migration history's tables: the server's own
 * migration of its bookkeeping. It runs under the migration lock (a row of
 * codomyrmex_locks: core/lease.ts, Session.lock) and, on SQLite, inside BEGIN IMMEDIATE, and checks again what it
 * found before acting, so two servers racing on one database do the work once. One probe
 * query answers "nothing to do" on every later run.
 *
 * Steps (each only when needed), with what differs asked of the backend module
 * (contract/migrations.ts): its preparation (PostgreSQL creates schema `codomyrmex` and
 * moves the tables an older version made in the search_path's schema there, rows and
 * all); the two tables; and a primary key `id` on codomyrmex_migration_events (Galera
 * refuses writes to tables without one), added to a table an older version made without
 * it (PostgreSQL and MySQL add an identity column, SQLite rebuilds the table). Where DDL
 * is transactional all of it is one transaction.
 */
import type { MigrationsSupport, Place } from '../backends/contract/migrations.js';
import { eventsTableSql, historyTableSql } from '../bookkeeping.js';
import type { Session } from '../dialect.js';

export type { Place } from '../backends/contract/migrations.js';

interface Found { history: boolean; events: boolean; eventsId: boolean }

async function probe(s: Session, m: MigrationsSupport, p: Place): Promise<Found> {
  const q = m.probe(p);
  const [r] = await s.query(q.text, q.params);
  const yes = (x: unknown): boolean => x === true || Number(x) > 0;
  return { history: yes(r?.history), events: yes(r?.events), eventsId: yes(r?.events_id) };
}

async function setup(s: Session, m: MigrationsSupport, p: Place): Promise<void> {
  await m.prepareBookkeeping(s, p);
  await s.run([historyTableSql(p.history), eventsTableSql(p.events, m.eventsIdColumn)]);
  if (!(await probe(s, m, p)).eventsId) await s.run(m.addEventsId(p));
}

/**
 * Creates the tables, or brings older ones into place; a no-op (one probe) when all is done.
 * `transactional`: DDL runs in a transaction there (dialect capability transactionalDdl).
 */
export async function ensureBookkeeping(s: Session, m: MigrationsSupport, p: Place, transactional: boolean): Promise<void> {
  const found = await probe(s, m, p);
  if (found.history && found.events && found.eventsId) return;
  // DDL commits on its own here: the migration lock, held by the caller, is what serialises.
  if (!transactional) return setup(s, m, p);
  await s.begin();
  try {
    await setup(s, m, p);
    await s.commit();
  } catch (err) {
    await s.rollback().catch(() => undefined);
    throw err;
  }
}
