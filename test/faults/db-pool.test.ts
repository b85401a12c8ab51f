/**
 * Issue 8, database faults: "pool exhausted by 50 concurrent slow calls (bounded wait,
 * then a clear BUSY error, no call lost silently)". A connection with a small pool and
 * a short acquire_timeout_ms gets 50 concurrent slow reads at once. Every call must
 * answer, in bounded time, either with its rows or with BUSY carrying
 * details.pool_size and details.waited_ms; nothing else. The number of successes must
 * fit the pool: at least pool_size, at most what pool_size slots can serve within the
 * acquire timeout. Afterwards the server and the connection answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkAlive, describeOutcome, query, startServer } from './db-harness.js';
import { record, REPEAT, tally, type Tally } from './tally.js';
import { BACKENDS, type TestBackend } from '../support/backends.js';
import type { ToolOutcome } from '../support/mcp.js';

const CALLS = 50;
const ACQUIRE_TIMEOUT_MS = 400;
const SLEEP_S = 0.3;

/** A read that holds its connection for about SLEEP_S (SQLite: a bounded recursive CTE, CPU time). */
function slowRead(backend: TestBackend, i: number): string {
  if (backend.name === 'sqlite') return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) + ${i} AS n FROM c`;
  return `${backend.sleep(SLEEP_S)}, ${i} AS i`;
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
      const stats: string[] = [];
      try {
        for (let rep = 0; rep < REPEAT; rep++) {
          const fail = (msg: string): void => { t.failures.push(`rep ${rep}: ${msg}`); };
          // Opened before the burst: the first pool_size calls must find their connection at once.
          const warm = await query(server, 'db', 'SELECT 1 AS warm');
          if (!warm.ok) fail(`warm-up failed: ${describeOutcome(warm)}`);
          const start = Date.now();
          const answers = await Promise.all(Array.from({ length: CALLS }, (_, i) => query(server, 'db', slowRead(backend, i), {}, { timeout: 15_000 })
            .then((r): ToolOutcome | Error => r, (err: Error) => err)));
          const took = Date.now() - start;
          const ok = checkBurst(answers, poolSize, took, fail);
          stats.push(`${ok}/${took}`);
          server = await checkAlive(server, t, spawnServer);
          const next = await query(server, 'db', 'SELECT 1 AS one');
          if (!next.ok) fail(`the connection did not serve after the burst: ${describeOutcome(next)}`);
          t.runs++;
        }
      } finally {
        console.error(`[faults] pool ${backend.name}: successes/ms per burst: ${stats.join(' ')}`);
        await server.close().catch(() => undefined);
      }
      expect(t.crashes).toBe(0);
      expect(t.failures).toEqual([]);
    }, 60_000 + REPEAT * 10_000);
  }
});

function checkBurst(answers: Array<ToolOutcome | Error>, poolSize: number, took: number, fail: (m: string) => void): number {
  let ok = 0;
  let minHold = Infinity;
  const other: string[] = [];
  for (const a of answers) {
    if (a instanceof Error) other.push(`no answer (${a.message})`);
    else if (a.ok) {
      ok++;
      minHold = Math.min(minHold, Number(a.data.elapsed_ms));
      if ((a.data.rows as unknown[]).length !== 1) other.push(`ok without its row: ${JSON.stringify(a.data.rows)}`);
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
