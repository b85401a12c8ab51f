/**
 * mysql: the SQL of the migration lock's lease (core/lease.ts) in the connection's
 * database. A row in a table is replicated to every node of a Galera cluster, where
 * GET_LOCK would be local to one node; two nodes taking it at once collide at
 * certification (a deadlock error for one of them), which counts as "not taken, try
 * again". Times are the database's, in UTC whatever the session's time_zone.
 */
import type { Connection } from 'mysql2';
import { DbError } from '../../../errors.js';
import { lockTableSql } from '../../bookkeeping.js';
import type { LockAt, Row } from '../../dialect.js';
import { LEASE_HOLDER, LEASE_MS, type LeaseSql } from '../../lease.js';
import { fromMysqlError } from './errors.js';

/** One statement with parameters: its rows (a SELECT) or the rows it changed. */
export type MysqlExec = (text: string, params: unknown[]) => Promise<{ rows: Row[]; affected: number }>;

/** A MysqlExec on one connection (a pooled one or the pool's control connection). */
export function execOn(conn: Pick<Connection, 'execute'>): MysqlExec {
  return (text, params) => new Promise((resolve, reject) => {
    conn.execute(text, params as never[], (err, result) => {
      if (err) reject(fromMysqlError(err));
      else resolve(Array.isArray(result) ? { rows: result as Row[], affected: 0 } : { rows: [], affected: Number((result as { affectedRows?: number }).affectedRows ?? 0) });
    });
  });
}

const until = 'UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND';
const code = (err: unknown): string | undefined => (err instanceof DbError ? err.code : undefined);

/** `exec` runs on the session's connection, `side` on a connection of its own (renewals while the session is busy). */
export function mysqlLeaseSql(exec: MysqlExec, side: MysqlExec, name: string, at: LockAt): LeaseSql {
  const t = at.table;
  const lease = LEASE_MS * 1000;
  const renewOn = async (x: MysqlExec, token: string): Promise<boolean> =>
    (await x(`UPDATE ${t} SET expires_at = ${until} WHERE name = ? AND token = ?`, [lease, name, token])).affected === 1;
  return {
    async ensure() {
      const here = await exec(`SELECT 1 AS x FROM ${t} LIMIT 0`, []).then(() => true, (err) => (code(err) === 'UNDEFINED_OBJECT' ? false : Promise.reject(err)));
      // Galera runs DDL on every node in order (TOI): the second CREATE finds the table there.
      if (!here) await exec(lockTableSql(t, 'DATETIME(6)'), []);
    },
    async take(token) {
      try {
        await exec(`DELETE FROM ${t} WHERE name = ? AND expires_at < UTC_TIMESTAMP(6)`, [name]);
        await exec(`INSERT IGNORE INTO ${t} (name, holder, token, taken_at, expires_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), ${until})`, [name, LEASE_HOLDER, token, lease]);
      } catch (err) {
        // Another node's take or renewal won certification (or a lock wait): not ours this time.
        if (code(err) === 'DEADLOCK' || code(err) === 'BUSY') return false;
        throw err;
      }
      const { rows } = await exec(`SELECT token FROM ${t} WHERE name = ?`, [name]);
      return rows[0]?.token === token;
    },
    async renew(token, onSide) {
      const x = onSide ? side : exec;
      // A certification conflict with a reader's DELETE of what it saw as expired: the row decides on the second try.
      return renewOn(x, token).catch((err) => (code(err) === 'DEADLOCK' ? renewOn(x, token) : Promise.reject(err)));
    },
    async release(token) {
      await exec(`DELETE FROM ${t} WHERE name = ? AND token = ?`, [name, token]);
    },
    async holder() {
      const { rows } = await exec(
        `SELECT holder, DATE_FORMAT(taken_at, '%Y-%m-%dT%H:%i:%sZ') AS since FROM ${t} WHERE name = ? AND expires_at > UTC_TIMESTAMP(6)`,
        [name],
      ).catch((err) => (code(err) === 'UNDEFINED_OBJECT' ? { rows: [] } : Promise.reject(err)));
      return rows[0] ? `${rows[0].holder} since ${rows[0].since}` : null;
    },
  };
}
