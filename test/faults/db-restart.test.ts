/**
 * Issue 8, database faults: "database restarted mid-session (recovery within 5 s,
 * reads retried, writes never retried blindly)", on private PostgreSQL and MariaDB
 * servers (private-db.ts) so the shared ones stay up for every other test file.
 *
 * Each repetition, with a write and a read in flight on the database:
 * - the server is stopped (graceful and kill alternately) and started again;
 * - the read in flight comes back with its rows (retried on a fresh connection once
 *   the database accepts connections again);
 * - the write in flight comes back CONNECTION_LOST and committed nothing (or, if it
 *   finished before the stop, it committed exactly once): never a silent re-run;
 * - the first read after the restart succeeds, within 5 s of the database being up;
 * - a read and a write issued while the database is down: the read waits for it (and
 *   succeeds), the write fails at once and is never re-run later;
 * - the next write succeeds, a cancel still stops a statement on the database, and every
 *   committed row is there exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { adminFor, checkAlive, describeOutcome, noteGuarded, query, runningWith, sleep, startServer, waitFor, type Admin, type ServerProcess } from './db-harness.js';
import { startPrivateMariadb, startPrivatePostgres, type PrivateDb } from './private-db.js';
import { record, REPEAT, tally, type Tally } from './tally.js';
import { BACKENDS } from '../support/backends.js';
import { READ_RECOVERY_MS } from '../../src/core/recovery.js';

const RECOVERY_LIMIT_MS = 5000;
const IN_FLIGHT_S = 0.8;
/** How long the database stays down between stop and start, on top of the stop itself. */
const DOWN_MS = 300;
const TABLE = 'faults_restart';

interface Timing {
  recoveries: number[];
  downtimes: number[];
}

const SQL = {
  postgres: {
    write: (rep: number) => `INSERT INTO ${TABLE} (rep, kind) SELECT ${rep}, 'inflight' FROM pg_sleep(${IN_FLIGHT_S}) /* restart-${rep} */`,
    read: (rep: number) => `SELECT count(*) AS n FROM ${TABLE}, pg_sleep(${IN_FLIGHT_S}) /* restart-${rep} */`,
  },
  mysql: {
    write: (rep: number) => `INSERT INTO ${TABLE} (rep, kind) SELECT ${rep}, 'inflight' FROM DUAL WHERE SLEEP(${IN_FLIGHT_S}) = 0 /* restart-${rep} */`,
    read: (rep: number) => `SELECT SLEEP(${IN_FLIGHT_S}) AS s, (SELECT count(*) FROM ${TABLE}) AS n /* restart-${rep} */`,
  },
};

const STARTERS = { postgres: startPrivatePostgres, mysql: startPrivateMariadb };

const tallies: Tally[] = [];
afterAll(() => tallies.forEach(record));

// The two backends run side by side, each on its own private server.
describe('database restarted mid-session', () => {
  for (const backend of (['postgres', 'mysql'] as const).filter((b) => BACKENDS.some((x) => x.name === b))) {
    it.concurrent(`${backend} × ${REPEAT}: reads retried, writes not, committed rows kept, recovery ≤ ${RECOVERY_LIMIT_MS} ms`, async () => {
      const t = tally('database restart mid-session', backend);
      tallies.push(t);
      const timing: Timing = { recoveries: [], downtimes: [] };
      const db = await STARTERS[backend]();
      let admin: Admin | undefined;
      const live: { server?: ServerProcess } = {};
      try {
        admin = await adminFor(backend, db.url);
        await admin.rows(`CREATE TABLE ${TABLE} (rep int NOT NULL, kind varchar(16) NOT NULL)`);
        const spawnServer = () => startServer({ db: { url: db.url, pool_size: 4 } });
        live.server = await spawnServer();
        await repeatRestarts(db, admin, live as { server: ServerProcess }, spawnServer, t, timing);
      } finally {
        if (live.server) noteGuarded(`restart ${backend}`, live.server);
        const [rec, down] = [timing.recoveries, timing.downtimes].map((xs) => xs.sort((x, y) => x - y));
        if (rec.length) console.error(`[faults] restart ${backend}: database down (stop to accepting queries) median ${down[down.length >> 1]} ms, max ${down[down.length - 1]} ms; first successful read after it was up: median ${rec[rec.length >> 1]} ms, max ${rec[rec.length - 1]} ms`);
        await live.server?.close().catch(() => undefined);
        await admin?.close().catch(() => undefined);
        await db.destroy();
      }
      expect(t.crashes).toBe(0);
      expect(t.lostRows + t.phantomRows).toBe(0);
      expect(t.failures).toEqual([]);
    }, 120_000 + REPEAT * 15_000);
  }
});

/** The repetitions; `live.server` is replaced when a crashed server had to be started again. */
async function repeatRestarts(db: PrivateDb, admin: Admin, live: { server: ServerProcess }, spawnServer: () => Promise<ServerProcess>, t: Tally, timing: Timing): Promise<void> {
  const backend = db.backend;
  // rep:kind -> rows that must be there exactly so many times
  const expected = new Map<string, number>();
  for (let rep = 0; rep < REPEAT; rep++) {
    const server = live.server;
    const fail = (msg: string): void => { t.failures.push(`rep ${rep}: ${msg}`); };
    const mode = rep % 2 === 0 ? 'graceful' : 'kill';

    // Warm pool: idle connections that the restart turns into dead sockets.
    await Promise.all([query(server, 'db', 'SELECT 1'), query(server, 'db', 'SELECT 2')]);
    const before = await query(server, 'db', `INSERT INTO ${TABLE} (rep, kind) VALUES (${rep}, 'before')`);
    if (before.ok) expected.set(`${rep}:before`, 1);
    else fail(`write before the restart failed: ${describeOutcome(before)}`);

    const write = query(server, 'db', SQL[backend].write(rep)).then((r) => ({ r, at: Date.now() }));
    const read = query(server, 'db', SQL[backend].read(rep)).then((r) => ({ r, at: Date.now() }));
    const inFlight = await waitFor(async () => (await runningWith(admin, backend, `restart-${rep} */`)).length === 2, 3000);
    if (!inFlight) fail('the write and the read never both ran on the database');

    const stoppedAt = Date.now();
    await db.stop(mode);
    // Issued while the database is down: the read waits for it, the write answers at once and is never re-run.
    const readDown = query(server, 'db', `SELECT count(*) AS n FROM ${TABLE}`).then((r) => ({ r, at: Date.now() }));
    const writeDown = await query(server, 'db', `INSERT INTO ${TABLE} (rep, kind) VALUES (${rep}, 'down')`);
    if (writeDown.ok) fail('a write succeeded while the database was down');
    else if (!['CONNECTION_FAILED', 'CONNECTION_LOST'].includes(writeDown.error.code)) fail(`write while down: ${describeOutcome(writeDown)}`);
    await sleep(DOWN_MS);
    await db.start();
    const upAt = Date.now();

    // The first read after the restart must succeed: dead pooled sockets are the server's problem.
    const first = await query(server, 'db', `SELECT count(*) AS n FROM ${TABLE}`);
    if (!first.ok) {
      fail(`first read after a ${mode} restart failed: ${describeOutcome(first)}`);
      await waitFor(async () => (await query(server, 'db', 'SELECT 1')).ok, RECOVERY_LIMIT_MS * 2, 100);
    }
    const recovery = Date.now() - upAt;
    timing.recoveries.push(recovery);
    timing.downtimes.push(upAt - stoppedAt);
    if (recovery > RECOVERY_LIMIT_MS) fail(`recovery took ${recovery} ms after a ${mode} restart`);

    const after = await query(server, 'db', `INSERT INTO ${TABLE} (rep, kind) VALUES (${rep}, 'after')`);
    if (after.ok) expected.set(`${rep}:after`, 1);
    else fail(`first write after a ${mode} restart failed: ${describeOutcome(after)}`);

    // Cancellation still reaches the database (MySQL: the KILL QUERY control connection died with the restart).
    const cancelMarker = `restart-cancel-${rep} */`;
    const ac = new AbortController();
    const slow = query(server, 'db', `${backend === 'postgres' ? 'SELECT pg_sleep(5)' : 'SELECT SLEEP(5)'} /* ${cancelMarker}`, {}, { signal: ac.signal }).catch(() => undefined);
    if (!(await waitFor(async () => (await runningWith(admin, backend, cancelMarker)).length > 0, 3000))) fail('the statement to cancel never ran');
    ac.abort();
    await slow;
    if (!(await waitFor(async () => (await runningWith(admin, backend, cancelMarker)).length === 0, 1000))) fail(`a cancel after a ${mode} restart did not stop the statement within 1 s`);

    const w = await write;
    if (w.r.ok) {
      // Only legitimate if it was not re-run: MariaDB ends a SLEEP interrupted by shutdown early (0 rows inserted).
      const n = Number(w.r.data.affected_rows);
      if (n > 0 && w.at > stoppedAt) fail(`the write in flight succeeded across a ${mode} restart (re-run?): ${n} row(s)`);
      expected.set(`${rep}:inflight`, n);
    } else if (w.r.error.code !== 'CONNECTION_LOST') {
      fail(`write in flight: expected CONNECTION_LOST, got ${describeOutcome(w.r)}`);
    }
    const d = await readDown;
    if (!d.r.ok && upAt - stoppedAt <= READ_RECOVERY_MS - 500) fail(`read issued while the database was down (for ${upAt - stoppedAt} ms) failed ${d.at - stoppedAt} ms after the stop: ${describeOutcome(d.r)}`);
    const r = await read;
    // A read waits up to READ_RECOVERY_MS after the loss for the database to come back; a longer outage may fail it.
    const outageTooLong = upAt - stoppedAt > READ_RECOVERY_MS - 500 && ['CONNECTION_FAILED', 'CONNECTION_LOST'].includes(r.r.ok ? '' : r.r.error.code);
    if (!r.r.ok && !outageTooLong) fail(`read in flight was not retried after a ${mode} restart (database down for ${upAt - stoppedAt} ms, answer ${r.at - stoppedAt} ms after the stop): ${describeOutcome(r.r)}`);

    // Committed rows exactly once; nothing from the write that failed.
    const counts = await admin.rows(`SELECT rep, kind, count(*) AS n FROM ${TABLE} GROUP BY rep, kind`);
    const actual = new Map(counts.map((c) => [`${c.rep}:${c.kind}`, Number(c.n)]));
    for (const [key, n] of expected) {
      const got = actual.get(key) ?? 0;
      if (got < n) { t.lostRows += n - got; fail(`committed row ${key} lost after a ${mode} restart`); }
      if (got > n) { t.phantomRows += got - n; fail(`row ${key} found ${got} times (expected ${n})`); }
    }
    for (const [key, got] of actual) {
      if (!expected.has(key)) { t.phantomRows += got; fail(`row ${key} committed by a call that reported ${describeOutcome(w.r)}`); }
    }

    live.server = await checkAlive(server, t, spawnServer);
    t.runs++;
  }
}
