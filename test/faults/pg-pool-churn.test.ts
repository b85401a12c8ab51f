/**
 * PostgreSQL sessions killed while other calls wait for a connection: every call answers.
 *
 * postgres.js 3.4.9 loses a reservation that waits while one of the pool's connections closes
 * (it reconnects that connection for the reservation but never hands it over), and a
 * connection handed back after it closed goes to the next reservation, whose statements are
 * then never sent. Either way a call never answered: seen after a killed read, and when
 * sessions were killed in a burst (the second statement-pooling review, finding 2).
 *
 * The first test builds the race on purpose: a TCP proxy holds the answers of new sessions,
 * so two calls are still waiting for their connections when the session of a third is killed.
 * The second kills, for 0.4 s, every session running one of six calls, three rounds. It kills
 * only sessions running our statements, never one that is being opened: postgres.js reads
 * the server's array types on each new session, and a session killed then is a rejection that
 * postgres.js leaves unhandled (the stdio server logs it and goes on).
 */
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { freshDatabase, type TestBackend } from '../support/backends.js';
import { callWithin, startInProcess, startStdio, type BoundedOutcome, type Harness } from '../support/mcp.js';
import { configFile } from './process.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NO_ANSWER_MS = 20_000;

type Timed = { ms: number; r: BoundedOutcome };

async function timedCall(h: Harness, query: string): Promise<Timed> {
  const t = Date.now();
  const r = await callWithin(h.client, 'execute_query', { connection: 'db', query }, NO_ANSWER_MS);
  return { ms: Date.now() - t, r };
}

const show = ({ ms, r }: Timed): string => `${ms} ms ${r.ok ? 'ok' : `${r.error.code} ${r.error.message.slice(0, 120)}`}`;

/** A proxy to PostgreSQL that, while `holding`, keeps the server's bytes of new sessions until `letGo()`. */
function holdingProxy(): Promise<{ server: Server; port: number; opened: () => number; hold(): void; letGo(): void }> {
  let holding = false;
  let opened = 0;
  const held: Array<() => void> = [];
  const server = createServer((client) => {
    opened++;
    const up = new Socket();
    up.connect(5432, '127.0.0.1');
    client.pipe(up);
    // A socket nobody reads from keeps what arrives: the server's answers wait here.
    const pass = (): void => { up.pipe(client); };
    if (holding) held.push(pass);
    else pass();
    client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
    client.on('close', () => up.destroy()); up.on('close', () => client.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({
    server,
    port: (server.address() as { port: number }).port,
    opened: () => opened,
    hold: () => { holding = true; },
    letGo: () => { holding = false; held.splice(0).forEach((f) => f()); },
  })));
}

/** A proxy to PostgreSQL that drops the first `drops` sessions when the driver sends its array-type lookup. */
function typeLookupDropper(drops: number): Promise<{ server: Server; port: number; dropped: () => number }> {
  let dropped = 0;
  const server = createServer((client) => {
    const up = new Socket();
    up.connect(5432, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      if (dropped < drops && chunk.includes('typarray')) {
        dropped++;
        client.destroy();
        up.destroy();
        return;
      }
      up.write(chunk);
    });
    up.pipe(client);
    client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
    client.on('close', () => up.destroy()); up.on('close', () => client.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as { port: number }).port, dropped: () => dropped })));
}

describe('PostgreSQL: sessions killed while calls wait for a connection', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(String((e as Error)?.message ?? e)); };
  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    db = await freshDatabase(PG, 'churn');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin`CREATE TABLE t (id int)`;
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await admin?.end();
    await db?.drop();
  });

  const killRunning = (like: string) => admin.unsafe(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND datname = current_database() AND state = 'active' AND query LIKE $1`,
    [like],
  );

  it('two calls waiting for new sessions when a third call\'s session is killed: all answer', async () => {
    const px = await holdingProxy();
    const u = new URL(db.url);
    u.port = String(px.port);
    const h = await startInProcess({ db: { url: u.toString(), pool_size: 3 } });
    try {
      expect((await timedCall(h, 'SELECT 1 AS warm')).r.ok).toBe(true);
      const long = timedCall(h, 'SELECT 7 AS long FROM pg_sleep(3)');
      for (let i = 0; i < 200 && (await admin`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND state = 'active' AND pid <> pg_backend_pid()`).length === 0; i++) await sleep(10);
      // Two calls open a session each; the server's answers are held, so both wait in the driver.
      px.hold();
      const before = px.opened();
      const waiting = [timedCall(h, 'SELECT 2 AS b'), timedCall(h, 'SELECT 3 AS c')];
      for (let i = 0; i < 200 && px.opened() < before + 2; i++) await sleep(10);
      expect(px.opened(), 'both waiting calls opened a session').toBeGreaterThanOrEqual(before + 2);
      await killRunning('%pg_sleep(3)%');
      await sleep(300);
      px.letGo();
      const [b, c] = await Promise.all(waiting);
      const a = await long;
      const log = `long read: ${show(a)}\nwaiting b: ${show(b)}\nwaiting c: ${show(c)}`;
      expect(b.r.ok && c.r.ok, log).toBe(true);
      // The killed read is run again on a fresh session (recovery.ts).
      expect(a.r.ok, log).toBe(true);
      for (let i = 0; i < 4; i++) expect((await timedCall(h, `SELECT ${i} AS after`)).r.ok, log).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      await h.close();
      px.server.close();
    }
  }, 60_000);

  it('every session running a call killed for 0.4 s, 3 rounds: every call answers, reads are run again, writes say the outcome is unknown', async () => {
    const h = await startInProcess({ db: { url: db.url, pool_size: 6 } });
    const log: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const calls = [0, 1, 2, 3, 4, 5].map((i) => timedCall(h, i % 2 ? `SELECT ${i} AS n FROM pg_sleep(1)` : `INSERT INTO t SELECT ${i} FROM pg_sleep(1)`));
        await sleep(300);
        const until = Date.now() + 400;
        while (Date.now() < until) {
          await killRunning('%pg_sleep(1)%');
          await sleep(5);
        }
        const answers = await Promise.all(calls);
        answers.forEach((a, i) => log.push(`${round}.${i} ${i % 2 ? 'read' : 'write'} ${show(a)}`));
        for (const [i, { r }] of answers.entries()) {
          if (r.ok) continue;
          // A read lost three times stays lost (recovery.ts MAX_LOSSES); a write is never run again.
          expect(r.error.code, log.join('\n')).toBe('CONNECTION_LOST');
          if (i % 2 === 0) expect(r.error.details.outcome, log.join('\n')).toBe('unknown');
        }
        const next = await timedCall(h, 'SELECT 1 AS next');
        if (process.env.CHURN_LOG) console.log(log.join('\n'));
        log.push(`${round} next ${show(next)}`);
        expect(next.r.ok, log.join('\n')).toBe(true);
      }
      expect(unhandled, log.join('\n')).toEqual([]);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('the first sessions dropped while the driver reads the array types (stdio): the call answers, the log says no call was affected', async () => {
    const px = await typeLookupDropper(2);
    const u = new URL(db.url);
    u.port = String(px.port);
    const server = await startStdio(['--config', configFile({ db: { url: u.toString() } })]);
    let log = '';
    server.transport.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString('utf8'); });
    try {
      const first = await timedCall({ client: server.client } as Harness, 'SELECT 1 AS first');
      expect(px.dropped(), 'the proxy dropped sessions at the type lookup').toBe(2);
      expect(first.r.ok, `${show(first)}\n${log.slice(-2000)}`).toBe(true);
      expect(log).toMatch(/closed while the driver read its array types; no call was affected/);
      expect(log).not.toMatch(/unhandled rejection/);
      expect((await timedCall({ client: server.client } as Harness, 'SELECT 2 AS second')).r.ok).toBe(true);
    } finally {
      await server.close();
      px.server.close();
    }
  }, 60_000);
});
