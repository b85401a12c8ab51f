/**
 * MySQL / MariaDB statistics: information_schema for the connection's database;
 * the server's status counters (uptime, connections, buffer pool, transactions,
 * deadlocks, lock waits) are server-wide, as the server keeps them.
 */
import { BOOKKEEPING_SQL_LIST } from '../../bookkeeping.js';
import type { Row, Session } from '../../dialect.js';
import { fingerprint } from '../../performance/fingerprint.js';
import { sql } from './sql.js';
import { num } from '../../performance/plans/types.js';
import { LONG_RUNNING_S, TOP_QUERIES, TOP_TABLES, type DatabaseStats, type Hint, type StatsReader } from '../../performance/stats/types.js';

const STATUS = ['Uptime', 'Threads_connected', 'Threads_running', 'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads', 'Handler_commit', 'Handler_rollback', 'Innodb_deadlocks'];

const TABLES = `
  SELECT COUNT(*) AS n, SUM(DATA_LENGTH + INDEX_LENGTH) AS size,
    (SELECT COUNT(DISTINCT TABLE_NAME, INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT IN (${BOOKKEEPING_SQL_LIST})) AS indexes,
    (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') AS locks_waiting
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT IN (${BOOKKEEPING_SQL_LIST})`;

const LARGEST = `
  SELECT TABLE_NAME AS name, TABLE_ROWS AS rows_estimate, DATA_LENGTH AS data_bytes, INDEX_LENGTH AS index_bytes
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT IN (${BOOKKEEPING_SQL_LIST})
  ORDER BY DATA_LENGTH + INDEX_LENGTH DESC, TABLE_NAME LIMIT ${TOP_TABLES}`;

const LONG_RUNNING = `
  SELECT ID AS id, TIME AS seconds, STATE AS state, INFO AS info FROM information_schema.PROCESSLIST
  WHERE DB = DATABASE() AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND TIME >= ${LONG_RUNNING_S} AND ID <> CONNECTION_ID()
  ORDER BY TIME DESC LIMIT ${TOP_QUERIES}`;

/** Index usage is counted only by performance_schema (MariaDB also has userstat, off by default). */
const UNUSED = `
  SELECT OBJECT_NAME AS tbl, INDEX_NAME AS idx FROM performance_schema.table_io_waits_summary_by_index_usage
  WHERE OBJECT_SCHEMA = DATABASE() AND INDEX_NAME IS NOT NULL AND INDEX_NAME <> 'PRIMARY' AND COUNT_STAR = 0
  ORDER BY OBJECT_NAME, INDEX_NAME LIMIT ${TOP_TABLES}`;

const PERFORMANCE_SCHEMA_HINT = 'set performance_schema = ON in the [mysqld] section of my.cnf and restart the server';

function ratio(requests: number | null, misses: number | null): number | null {
  if (requests === null || misses === null || requests === 0) return null;
  return Math.round((1 - misses / requests) * 10_000) / 10_000;
}

async function unusedIndexes(s: Session, psOn: boolean, hints: Hint[]): Promise<Array<{ table: string; index: string; size_bytes: null }> | null> {
  if (!psOn) {
    hints.push({ field: 'index_usage.unused', hint: PERFORMANCE_SCHEMA_HINT });
    return null;
  }
  return (await s.query(UNUSED)).map((r) => ({ table: String(r.tbl), index: String(r.idx), size_bytes: null }));
}

async function read(s: Session): Promise<{ stats: DatabaseStats; hints: Hint[] }> {
  const hints: Hint[] = [];
  const [server] = await s.query('SELECT VERSION() AS version, @@max_connections AS max_connections, @@performance_schema AS ps');
  const status = new Map((await s.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS.map((v) => `'${v}'`).join(', ')})`)).map((r: Row) => [String(r.Variable_name), num(r.Value)]));
  const [tables] = await s.query(TABLES);
  const largest = await s.query(LARGEST);
  const long = await s.query(LONG_RUNNING);
  const st = (name: string): number | null => status.get(name) ?? null;
  const committed = st('Handler_commit');
  const rolledBack = st('Handler_rollback');
  return {
    stats: {
      version: String(server.version),
      uptime_s: st('Uptime'),
      // The server keeps no size per database: the sum of its tables' data and indexes.
      size_bytes: num(tables.size) ?? 0,
      table_count: num(tables.n),
      largest_tables: largest.map((r) => {
        const [data, index] = [num(r.data_bytes), num(r.index_bytes)];
        return { table: String(r.name), rows_estimate: num(r.rows_estimate), data_bytes: data, index_bytes: index, total_bytes: data === null || index === null ? null : data + index };
      }),
      index_usage: { indexes: num(tables.indexes), unused: await unusedIndexes(s, Number(server.ps) === 1, hints) },
      connections: { open: st('Threads_connected'), active: st('Threads_running'), max: num(server.max_connections) },
      cache_hit_ratio: ratio(st('Innodb_buffer_pool_read_requests'), st('Innodb_buffer_pool_reads')),
      transactions: committed === null || rolledBack === null ? null : { committed, rolled_back: rolledBack },
      // MariaDB counts deadlocks in its status; MySQL only in SHOW ENGINE INNODB STATUS text.
      deadlocks: st('Innodb_deadlocks'),
      locks_waiting: num(tables.locks_waiting),
      long_running_queries: long.map((r) => ({
        id: String(r.id), seconds: num(r.seconds) ?? 0, state: r.state ? String(r.state) : null, fingerprint: fingerprint(String(r.info ?? ''), sql),
      })),
      sqlite: null,
    },
    hints,
  };
}

export const mysqlStats: StatsReader = { read: (s) => read(s) };
