/**
 * Issue 8, database faults: "statement timeout and MCP cancellation (the query really
 * stops on the server, the connection is reusable)". A long sleep (SQLite: a runaway
 * recursive CTE) with timeout_ms, and separately the same statement cancelled by the
 * MCP client (AbortSignal -> notifications/cancelled). Afterwards the statement is gone
 * from pg_stat_activity / the processlist (SQLite: the host process is dead) within 1 s,
 * and the same connection, with a pool of one, answers the next query.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { adminFor, checkAlive, childPids, describeOutcome, noteGuarded, processAlive, query, runningWith, sleep, startServer, waitFor, type Admin } from './db-harness.js';
import { record, REPEAT, tally, type Tally } from './tally.js';
import { BACKENDS } from '../support/backends.js';

const TIMEOUT_MS = 300;
const CANCEL_AFTER_MS = 200;
/** The statement must be gone from the database this soon after the answer (timeout) or the cancel. */
const GONE_WITHIN_MS = 1000;

const tallies: Tally[] = [];
afterAll(() => tallies.forEach(record));

// Backends run side by side; within one backend the timeout and cancel rounds share a server, in turn.
describe('statement timeout and MCP cancellation', () => {
  for (const backend of BACKENDS) {
    it.concurrent(`${backend.name}: timeout_ms ${TIMEOUT_MS} and a cancel after ${CANCEL_AFTER_MS} ms, × ${REPEAT} each: stopped on the server, connection reusable`, async () => {
      const timeouts = tally('statement timeout', backend.name);
      const cancels = tally('MCP cancellation', backend.name);
      tallies.push(timeouts, cancels);
      const url = backend.url();
      // One connection: the next query can only succeed if the stopped one was handed back usable.
      const spawnServer = () => startServer({ db: { url, pool_size: 1 } });
      const slow = (marker: string): string => `${backend.name === 'sqlite' ? backend.sleep(0) : backend.sleep(5)} /* ${marker} */`;
      let server = await spawnServer();
      const admin = backend.name === 'sqlite' ? undefined : await adminFor(backend.name, url);

      /** Whether the statement (or the SQLite host that ran it) still runs; the host pid is taken before the call. */
      const stillRunning = async (marker: string, host: number | undefined): Promise<boolean> => {
        if (backend.name === 'sqlite') return host !== undefined && processAlive(host);
        return (await runningWith(admin as Admin, backend.name, marker)).length > 0;
      };
      const currentHost = async (): Promise<number | undefined> => {
        if (backend.name !== 'sqlite') return undefined;
        const ok = await query(server, 'db', 'SELECT 1 AS warm'); // the host starts lazily
        return ok.ok ? childPids(server.pid, 'sqlite-host')[0] : undefined;
      };
      const afterStop = async (t: Tally, fail: (m: string) => void, marker: string, host: number | undefined, since: number): Promise<void> => {
        const gone = await waitFor(async () => !(await stillRunning(marker, host)), GONE_WITHIN_MS - (Date.now() - since), 10);
        if (!gone) fail(`the statement still ran ${Date.now() - since} ms after it was stopped`);
        server = await checkAlive(server, t, spawnServer);
        const next = await query(server, 'db', 'SELECT 1 AS one');
        if (!next.ok) fail(`the next query on the connection failed: ${describeOutcome(next)}`);
      };

      try {
        for (let rep = 0; rep < REPEAT; rep++) {
          const fail = (msg: string): void => { timeouts.failures.push(`rep ${rep}: ${msg}`); };
          const marker = `tmo-${process.pid}-${rep}`;
          const host = await currentHost();
          const start = Date.now();
          const r = await query(server, 'db', slow(marker), { timeout_ms: TIMEOUT_MS });
          const took = Date.now() - start;
          if (r.ok || r.error.code !== 'TIMEOUT') fail(`expected TIMEOUT, got ${describeOutcome(r)}`);
          else if (r.error.details.timeout_ms !== TIMEOUT_MS) fail(`details.timeout_ms is ${String(r.error.details.timeout_ms)}`);
          if (took > TIMEOUT_MS + 2000) fail(`TIMEOUT came after ${took} ms`);
          await afterStop(timeouts, fail, marker, host, Date.now());
          timeouts.runs++;
        }
        for (let rep = 0; rep < REPEAT; rep++) {
          const fail = (msg: string): void => { cancels.failures.push(`rep ${rep}: ${msg}`); };
          const marker = `cancel-${process.pid}-${rep}`;
          const host = await currentHost();
          const ac = new AbortController();
          const call = query(server, 'db', slow(marker), {}, { signal: ac.signal }).then(
            (r) => `answered ${describeOutcome(r)}`,
            (err: Error) => (err.name === 'AbortError' || /abort/i.test(err.message) ? undefined : `rejected: ${err.message}`),
          );
          if (backend.name !== 'sqlite' && !(await waitFor(() => stillRunning(marker, undefined), 3000, 10))) fail('the statement never started');
          else await sleep(CANCEL_AFTER_MS);
          const abortedAt = Date.now();
          ac.abort();
          const unexpected = await call;
          if (unexpected) fail(`the cancelled call ${unexpected}`);
          await afterStop(cancels, fail, marker, host, abortedAt);
          cancels.runs++;
        }
      } finally {
        noteGuarded(`timeout/cancel ${backend.name}`, server);
        await server.close().catch(() => undefined);
        await admin?.close().catch(() => undefined);
      }
      expect(timeouts.crashes + cancels.crashes).toBe(0);
      expect([...timeouts.failures, ...cancels.failures]).toEqual([]);
    }, 60_000 + REPEAT * 8000);
  }
});
