/**
 * Issue 8, database faults: "pool exhausted by 50 concurrent slow calls (bounded wait,
 * then a clear BUSY error, no call lost silently)". A connection with a small pool and
 * a short acquire_timeout_ms gets 50 concurrent slow reads at once. Every call must
 * answer, in bounded time, either with its rows or with BUSY carrying
 * details.pool_size and details.waited_ms; nothing else. The number of successes must
 * fit the pool: at least pool_size, at most what pool_size slots can serve within the
 * acquire timeout. On odd repetitions the calls are inserts: exactly those that answered
 * ok are in the table, none that got BUSY. Afterwards the server and the connection answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkAlive, describeOutcome, noteGuarded, query, startServer, type ServerProcess } from './db-harness.js';
import { record, REPEAT, tally, type Tally } from './tally.js';
import { BACKENDS, uniqueName, type TestBackend } from '../support/backends.js';
import { rowsOf, type ToolOutcome } from '../support/mcp.js';

const CALLS = 50;
const ACQUIRE_TIMEOUT_MS = 400;
const SLEEP_S = 0.3;

const SQLITE_BUSY_WORK = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) AS n FROM c';

/**
 * A call that holds its connection for about SLEEP_S (SQLite: a bounded recursive CTE,
 * CPU time): a read on even repetitions, an insert of (rep, i) on odd ones, so that the
 * table shows which calls really ran.
 */
function slowCall(backend: TestBackend, table: string, rep: number, i: number): string {
  const write = rep % 2 === 1;
  if (backend.name === 'sqlite') {
    return write ? `INSERT INTO ${table} (rep, i) SELECT ${rep}, ${i} FROM (${SQLITE_BUSY_WORK})` : `SELECT n + ${i} AS n FROM (${SQLITE_BUSY_WORK})`;
  }
  if (!write) return `${backend.sleep(SLEEP_S)}, ${i} AS i`;
  return backend.name === 'postgres'
    ? `INSERT INTO ${table} (rep, i) SELECT ${rep}, ${i} FROM pg_sleep(${SLEEP_S})`
    : `INSERT INTO ${table} (rep, i) SELECT ${rep}, ${i} FROM DUAL WHERE SLEEP(${SLEEP_S}) = 0`;
}

const tallies: Tally[] = [];
afterAll(() => tallies.forEach(record));

describe('pool exhausted by 50 concurrent slow calls', () => {
  for (const backend of BACKENDS) {
    const poolSize = backend.name === 'sqlite' ? 1 : 3;
    it.concurrent(`${backend.name}: pool ${poolSize}, acquire ${ACQUIRE_TIMEOUT_MS} ms, ${CALLS} calls × ${REPEAT}: rows or BUSY, nothing lost`, async () => {
      const t = tally('pool exhausted by 50 slow calls', backend.name);
      tallies.push(t);
      const url = backend.url();
      const spawnServer = () => startServer({ db: { url, pool_size: poolSize, acquire_timeout_ms: ACQUIRE_TIMEOUT_MS } });
      let server = await spawnServer();
      const table = uniqueName('faults_pool');
      const stats: string[] = [];
      try {
        const created = await query(server, 'db', `CREATE TABLE ${table} (rep int NOT NULL, i int NOT NULL)`);
        if (!created.ok) throw new Error(describeOutcome(created));
        for (let rep = 0; rep < REPEAT; rep++) {
          const fail = (msg: string): void => { t.failures.push(`rep ${rep}: ${msg}`); };
          // Opened before the burst: the first pool_size calls must find their connection at once.
          const warm = await query(server, 'db', 'SELECT 1 AS warm');
          if (!warm.ok) fail(`warm-up failed: ${describeOutcome(warm)}`);
          const start = Date.now();
          const answers = await Promise.all(Array.from({ length: CALLS }, (_, i) => query(server, 'db', slowCall(backend, table, rep, i), {}, { timeout: 15_000 })
            .then((r): ToolOutcome | Error => r, (err: Error) => err)));
          const took = Date.now() - start;
          const ok = checkBurst(answers, poolSize, took, rep % 2 === 1, fail);
          stats.push(`${ok}/${took}`);
          if (rep % 2 === 1) await checkWrites(server, table, rep, answers, t, fail);
          server = await checkAlive(server, t, spawnServer);
          const next = await query(server, 'db', 'SELECT 1 AS one');
          if (!next.ok) fail(`the connection did not serve after the burst: ${describeOutcome(next)}`);
          t.runs++;
        }
      } finally {
        noteGuarded(`pool ${backend.name}`, server);
        console.error(`[faults] pool ${backend.name}: successes/ms per burst: ${stats.join(' ')}`);
        await query(server, 'db', `DROP TABLE ${table}`);
        await server.close().catch(() => undefined);
      }
      expect(t.crashes).toBe(0);
      expect(t.lostRows + t.phantomRows).toBe(0);
      expect(t.failures).toEqual([]);
    }, 60_000 + REPEAT * 10_000);
  }
});

function checkBurst(answers: Array<ToolOutcome | Error>, poolSize: number, took: number, writes: boolean, fail: (m: string) => void): number {
  let ok = 0;
  let minHold = Infinity;
  const other: string[] = [];
  for (const a of answers) {
    if (a instanceof Error) other.push(`no answer (${a.message})`);
    else if (a.ok) {
      ok++;
      minHold = Math.min(minHold, Number(a.data.elapsed_ms));
      if (writes ? a.data.affected_rows !== 1 : rowsOf(a.data).length !== 1) other.push(`ok without its row: ${JSON.stringify(a.data)}`);
    } else if (a.error.code !== 'BUSY') other.push(describeOutcome(a));
    else if (a.error.details.pool_size !== poolSize || Number(a.error.details.waited_ms) < ACQUIRE_TIMEOUT_MS) {
      other.push(`BUSY with details ${JSON.stringify(a.error.details)}`);
    }
  }
  if (other.length) fail(`${other.length} call(s) neither rows nor a proper BUSY, e.g. ${other[0]}`);
  // Each success held a slot for at least minHold ms; a call waiting longer than the acquire timeout gets BUSY.
  const most = poolSize * (2 + Math.floor(ACQUIRE_TIMEOUT_MS / Math.max(1, minHold)));
  if (ok < poolSize || ok > most) fail(`${ok} successes for a pool of ${poolSize} (expected ${poolSize}…${most})`);
  // Bounded: the BUSY answers come at the acquire timeout, the last success soon after the slots it waited for.
  const bound = ACQUIRE_TIMEOUT_MS + (most / poolSize) * (minHold === Infinity ? 0 : minHold) + 3000;
  if (took > bound) fail(`the burst took ${took} ms (bound ${Math.round(bound)} ms)`);
  return ok;
}

/** The inserts that answered ok are in the table exactly once; those that got BUSY never ran. */
async function checkWrites(server: ServerProcess, table: string, rep: number, answers: Array<ToolOutcome | Error>, t: Tally, fail: (m: string) => void): Promise<void> {
  const r = await query(server, 'db', `SELECT i FROM ${table} WHERE rep = ${rep}`);
  if (!r.ok) return fail(`could not read the inserted rows: ${describeOutcome(r)}`);
  const found = rowsOf(r.data).map((row) => Number(row.i));
  const succeeded = new Set(answers.flatMap((a, i) => (!(a instanceof Error) && a.ok ? [i] : [])));
  const phantom = found.filter((i) => !succeeded.has(i)).length + (found.length - new Set(found).size);
  const lost = [...succeeded].filter((i) => !found.includes(i)).length;
  if (phantom) { t.phantomRows += phantom; fail(`${phantom} row(s) from calls that reported BUSY (or twice)`); }
  if (lost) { t.lostRows += lost; fail(`${lost} insert(s) answered ok but are not in the table`); }
}
