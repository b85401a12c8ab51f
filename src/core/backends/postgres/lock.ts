/**
 * postgres: the SQL of the migration lock's lease (core/lease.ts) in the history's
 * schema. Every statement is one autocommitted statement (or, for the table's creation,
 * one transaction), so the lease holds through PgBouncer in session and transaction mode:
 * nothing of it stays on a server connection. Times are the database's
 * (clock_timestamp(), not now(): a statement may run late in a long transaction).
 */
import type { Sql } from 'postgres';
import { DbError } from '../../../errors.js';
import { lockTableSql } from '../../bookkeeping.js';
import type { LockAt, Row } from '../../dialect.js';
import { LEASE_HOLDER, LEASE_MS, RENEW_DEADLINE_MS, type LeaseSql } from '../../lease.js';
import { withDeadline } from '../../limits.js';
import { doubled } from '../../schema/sql-text.js';
import { fromPgError } from './errors.js';

/** What the lock needs of its session: an extended-protocol query, trusted SQL, and the pool for renewals. */
export interface PgLockIo {
  query(text: string, params: unknown[]): Promise<Row[]>;
  run(text: string): Promise<void>;
  /** The renewal connection of the session's pool (pool.ts): never the session's own, which may be busy for minutes. */
  side(): Sql;
}

const quoteIdent = doubled('"');
const until = `clock_timestamp() + make_interval(secs => $3::float8 / 1000)`;
const missing = (err: unknown): boolean => err instanceof DbError && err.code === 'UNDEFINED_OBJECT';

export function pgLeaseSql(io: PgLockIo, name: string, at: LockAt): LeaseSql {
  const t = at.table;
  /** On the renewal connection, not the session's own. */
  const onSide = (text: string, params: unknown[]) => {
    const q = io.side().unsafe(text, params as never[], { prepare: false } as never);
    return { q, rows: q.then((x) => [...x] as Row[], (err) => { throw fromPgError(err); }) };
  };
  return {
    async ensure() {
      const [r] = await io.query('SELECT to_regclass($1) IS NOT NULL AS here, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $2) AS schema', [t, at.schema ?? '']);
      if (r?.here === true) return;
      // Two servers creating one table at once collide in the catalog (a duplicate pg_type
      // row): the transaction-scoped advisory lock serialises them, through any pooler.
      const schema = at.schema !== undefined && r?.schema !== true ? `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(at.schema)}; ` : '';
      try {
        await io.run(`BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('codomyrmex_locks', 0)); ${schema}${lockTableSql(t, 'TIMESTAMPTZ')}; COMMIT`);
      } catch (err) {
        await io.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
    async take(token) {
      const rows = await io.query(
        `INSERT INTO ${t} AS l (name, holder, token, taken_at, expires_at) VALUES ($1, $2, $4, clock_timestamp(), ${until})
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, taken_at = excluded.taken_at, expires_at = excluded.expires_at
         WHERE l.expires_at < clock_timestamp() RETURNING token`,
        [name, LEASE_HOLDER, String(LEASE_MS), token],
      );
      return rows.length === 1;
    },
    async renew(token, side) {
      const text = `UPDATE ${t} SET expires_at = ${until} WHERE name = $1 AND token = $2 RETURNING token`;
      const params = [name, token, String(LEASE_MS)];
      const rows = side
        ? await onSide(text, params).rows
        : await io.query(text, params);
      return rows.length === 1;
    },
    async release(token) {
      const text = `DELETE FROM ${t} WHERE name = $1 AND token = $2`;
      // The session's connection may be what failed (a pooler that ended it): then the
      // renewal connection releases, rather than leave the lock to its lease's expiry.
      // Bounded as a renewal is: a pooler may queue it until a server connection is free, and
      // the row that stays expires with its lease.
      await io.query(text, [name, token]).catch(async (err) => {
        if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST') throw err;
        const { q, rows } = onSide(text, [name, token]);
        await withDeadline(rows, RENEW_DEADLINE_MS, () => { q.cancel(); }, () => new DbError('CONNECTION_LOST', 'the lock release got no answer; the lock expires with its lease'));
      });
    },
    async holder() {
      const rows = await io.query(
        `SELECT holder, to_char(taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since FROM ${t} WHERE name = $1 AND expires_at > clock_timestamp()`,
        [name],
      ).catch((err) => (missing(err) ? [] : Promise.reject(err)));
      return rows[0] ? `${rows[0].holder} since ${rows[0].since}` : null;
    },
  };
}
