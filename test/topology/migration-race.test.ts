/**
 * Issue 17 items 3 and 5: two servers (two processes over stdio, real run_migration calls)
 * race 20 rounds on one database through each topology, and each migration must be
 * applied exactly once with no lock left behind. A round writes one new migration (every
 * fifth is `-- migrate:no-transaction`, the stepwise path, where the lock alone keeps two
 * servers apart), then both servers run_migration at once. Each call either applies it or
 * finds nothing left to do (or, waiting longer than the lock's wait, BUSY naming the
 * holder): never MIGRATION_FAILED, MIGRATION_BLOCKED or INTERNAL. Every migration inserts
 * its round into race_log (primary key): a second application would fail there and count
 * twice. After each round the lock table is empty; after the race a third server on a
 * direct connection finds the lock free and applies one more at once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startStdio } from '../support/mcp.js';
import { killAfter, raw, type Stdio } from '../faults/kill.js';
import { configFile } from '../faults/process.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { httpClient, startHttpServer, type HttpServer } from '../support/http.js';
import { startGalera } from './galera.js';
import { frontendPorts, startHaproxy, type Haproxy } from './haproxy.js';
import { startPgBouncer, type PoolMode } from './pgbouncer.js';

type Json = Record<string, any>;
type Name = TestBackend['name'];
const ROUNDS = 20;

/** Where the two racing servers connect, where the checks and the last server go, and how to end it. */
interface Topology {
  backend: Name;
  /** URLs of server A and server B (the same database, maybe through different doors). */
  racers: [string, string];
  /** A direct URL to the database: raw checks and the server that runs after the race. */
  direct: string;
  /** A direct URL to the server (node) racer A talks to: its sessions show there. */
  nearA: string;
  /** Galera: a read on another node waits for what the cluster committed (wsrep_sync_wait). */
  causal?: boolean;
  stop(): Promise<void>;
}

interface Case {
  name: string;
  backend: Name;
  start(): Promise<Topology>;
}

const has = (b: Name): boolean => BACKENDS.some((x) => x.name === b);
const backendOf = (b: Name): TestBackend => BACKENDS.find((x) => x.name === b) as TestBackend;

async function direct(b: Name): Promise<Topology> {
  const db = await freshDatabase(backendOf(b), 'race');
  return { backend: b, racers: [db.url, db.url], direct: db.url, nearA: db.url, stop: () => db.drop() };
}

async function throughPgBouncer(mode: PoolMode): Promise<Topology> {
  const db = await freshDatabase(backendOf('postgres'), 'race');
  // A small server pool: in transaction mode the two servers' statements share connections.
  const bouncer = await startPgBouncer({ mode, poolSize: 2 });
  const name = db.url.replace(/^.*\//, '');
  return {
    backend: 'postgres',
    racers: [bouncer.url(name), bouncer.url(name)],
    direct: db.url,
    nearA: db.url,
    async stop() {
      await bouncer.stop();
      await db.drop();
    },
  };
}

/**
 * A 3-node MariaDB Galera cluster (galera.ts) with wsrep_mode=REQUIRED_PRIMARY_KEY (every
 * table of the server's own needs a key): server A on node 1, server B on node 2, the
 * checks and the last server on node 3.
 */
async function galera(): Promise<Topology> {
  const cluster = await startGalera(3, { wsrepMode: 'REQUIRED_PRIMARY_KEY' });
  console.error(`[topology] Galera cluster of 3 up in ${cluster.startMs} ms`);
  const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
  return { backend: 'mysql', racers: [a, b], direct: c, nearA: a, causal: true, stop: () => cluster.stop() };
}

const CASES: Case[] = [
  { name: 'PostgreSQL direct', backend: 'postgres', start: () => direct('postgres') },
  { name: 'PgBouncer session mode', backend: 'postgres', start: () => throughPgBouncer('session') },
  { name: 'PgBouncer transaction mode', backend: 'postgres', start: () => throughPgBouncer('transaction') },
  { name: 'MariaDB direct', backend: 'mysql', start: () => direct('mysql') },
  { name: 'SQLite file', backend: 'sqlite', start: () => direct('sqlite') },
  { name: 'Galera, two servers on two nodes', backend: 'mysql', start: galera },
];

const PAUSE: Record<Name, string> = {
  postgres: 'SELECT pg_sleep(0.02);',
  mysql: 'DO SLEEP(0.02);',
  sqlite: '',
};

const lockTable = (b: Name): string => (b === 'postgres' ? 'codomyrmex.codomyrmex_locks' : 'codomyrmex_locks');
const historyTable = (b: Name): string => (b === 'postgres' ? 'codomyrmex.codomyrmex_migrations' : 'codomyrmex_migrations');

/** Round r's migration: a table of its own, its round in race_log (once only: primary key), a short pause to widen the race. */
function writeRound(dir: string, b: Name, r: number): void {
  const stepwise = r % 5 === 0 ? '-- migrate:no-transaction\n' : '';
  writeFileSync(join(dir, `${r}_round_${r}.sql`), `-- migrate:up\n${stepwise}CREATE TABLE race_${r} (id integer PRIMARY KEY);\n${PAUSE[b]}\nINSERT INTO race_log (round) VALUES (${r});\n\n-- migrate:down\nDROP TABLE race_${r};\n`);
}

/**
 * ROUNDS rounds: a new migration each, run_migration by every client at once. Each call
 * applies it, finds nothing left, or (waiting past the lock's wait) gets BUSY naming the
 * holder; the migration is applied once (race_log), no lock row is left after a round, and
 * the history ends with every migration applied.
 */
async function raceRounds(name: string, backend: Name, dir: string, clients: Client[], read: (sql: string) => Promise<Json[]>): Promise<void> {
  const failures: string[] = [];
  const outcomes = new Map<string, number>();
  for (let r = 1; r <= ROUNDS; r++) {
    writeRound(dir, backend, r);
    const runs = await Promise.all(clients.map((client) => callTool(client, 'run_migration', { connection: 'db' })));
    const applied: string[] = [];
    for (const run of runs) {
      const key = run.ok ? ((run.data.applied as Json[]).length ? 'applied' : 'nothing left') : run.error.code;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (run.ok) applied.push(...(run.data.applied as Json[]).map((m) => String(m.version)));
      else if (run.error.code !== 'BUSY' || !/another migrator holds the migration lock \(codomyrmex-db@/.test(run.error.message)) failures.push(`round ${r}: ${run.error.code} ${run.error.message}`);
    }
    const want = r === 1 ? ['0', '1'] : [String(r)];
    if (applied.sort().join() !== want.join()) failures.push(`round ${r}: applied ${JSON.stringify(applied)} in all, wanted ${JSON.stringify(want)}`);
    const logged = await read(`SELECT count(*) AS n FROM race_log WHERE round = ${r}`);
    if (Number(logged[0]!.n) !== 1) failures.push(`round ${r}: race_log holds it ${logged[0]!.n} times`);
    const locks = await read(`SELECT holder FROM ${lockTable(backend)}`);
    if (locks.length) failures.push(`round ${r}: a lock row is left: ${JSON.stringify(locks)}`);
  }
  console.error(`[topology] migration race, ${name}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  expect(failures).toEqual([]);
  const rows = await read(`SELECT status, count(*) AS n FROM ${historyTable(backend)} GROUP BY status`);
  expect(rows.map((x) => `${x.status}:${x.n}`)).toEqual([`applied:${ROUNDS + 1}`]);
}

describe.each(CASES.filter((c) => has(c.backend)))('migrations raced by two servers: $name', (c: Case) => {
  let t: Topology;
  let dir: string;
  let servers: Stdio[] = [];
  /** A raw read on the checking node; on Galera it first waits for what the cluster committed. */
  const read = (sql: string): Promise<Json[]> => raw(t.backend, t.direct, t.causal ? `SET STATEMENT wsrep_sync_wait = 1 FOR ${sql}` : sql);

  beforeAll(async () => {
    t = await c.start();
    dir = tempDir('cmx-race-');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '0_log.sql'), '-- migrate:up\nCREATE TABLE race_log (round integer PRIMARY KEY);\n');
    servers = await Promise.all(t.racers.map((url) => startStdio(['--config', configFile({ db: { url, migrations_dir: dir } })])));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    await t?.stop();
  });

  it(`applies each migration exactly once in ${ROUNDS} rounds and leaves no lock behind`, async () => {
    await raceRounds(c.name, t.backend, dir, servers.map((s) => s.client), read);
  }, 180_000);

  it('leaves the lock free for a server on a direct connection afterwards', async () => {
    const after = await startStdio(['--config', configFile({ db: { url: t.direct, migrations_dir: dir } })]);
    try {
      const status = await mustCall(after.client, 'get_migration_status', { connection: 'db' });
      expect(status.lock).toEqual({ held: false, holder: null });
      writeRound(dir, t.backend, ROUNDS + 1);
      const run = await mustCall(after.client, 'run_migration', { connection: 'db' });
      expect((run.applied as Json[]).map((m) => m.version)).toEqual([String(ROUNDS + 1)]);
      expect(await read(`SELECT holder FROM ${lockTable(t.backend)}`)).toEqual([]);
    } finally {
      await after.close();
    }
  });

  // SQLite has no lease to run out (a dead holder process is seen at once: test/faults/kill-migration.test.ts).
  it.skipIf(c.backend === 'sqlite')('lets the other server in once a SIGKILLed holder\'s lease runs out, within its wait', async () => {
    const v = ROUNDS + 2;
    const pause = t.backend === 'postgres' ? 'SELECT pg_sleep(3);' : 'DO SLEEP(3);';
    // The victim is in its pause: its statement shows in the server's list of sessions.
    const pausing = t.backend === 'postgres'
      ? "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(3)%'"
      : "SELECT count(*) AS n FROM information_schema.processlist WHERE info LIKE 'DO SLEEP(3)%'";
    writeFileSync(join(dir, `${v}_slow.sql`), `-- migrate:up\nCREATE TABLE slow_t (id integer PRIMARY KEY);\n${pause}\nINSERT INTO race_log (round) VALUES (${v});\n`);
    const [victim, other] = servers as [Stdio, Stdio];
    const call = callTool(victim.client, 'run_migration', { connection: 'db' }).catch(() => null);
    for (let i = 0; Number((await raw(t.backend, t.nearA, pausing))[0]!.n) === 0; i++) {
      if (i > 400) throw new Error('the first server never reached its pause');
      await new Promise((r) => setTimeout(r, 10));
    }
    await killAfter(victim, 0);
    await call;
    const next = await callTool(other.client, 'run_migration', { connection: 'db' });
    if (t.backend === 'mysql') {
      // Stepwise: the killed migration's row stays `running`; with its holder's lease gone it counts as failed.
      expect(next.ok ? 'ok' : next.error.code).toBe('MIGRATION_BLOCKED');
      expect(next.ok ? [] : (next.error.details.problems as Json[]).map((x) => `${x.version}:${x.status}`)).toEqual([`${v}:failed`]);
    } else {
      // Transactional: the killed transaction left nothing; the other server applies it.
      expect(next.ok ? (next.data.applied as Json[]).map((m) => m.version) : next.error.code).toEqual([String(v)]);
    }
  });
});

/**
 * A migration that changes session settings (a pg_dump file's set_config(..., false), SET
 * work_mem) must not hand them to the next client of the server connection: through a
 * transaction pooler nothing resets it between clients. One server connection (pool size
 * 1); while a second, stepwise migration pauses between its statements, another client
 * reads the settings of that connection again and again.
 */
describe.skipIf(!has('postgres'))('a migration\'s session settings through PgBouncer transaction mode', () => {
  let t: Topology;
  let bouncerUrl: string;
  let stopBouncer: () => Promise<void>;
  const dir = tempDir('cmx-race-set-');
  const SEEN = "SELECT current_setting('search_path') AS path, current_setting('work_mem') AS mem";

  beforeAll(async () => {
    t = await direct('postgres');
    const bouncer = await startPgBouncer({ mode: 'transaction', poolSize: 1 });
    bouncerUrl = bouncer.url(t.direct.replace(/^.*\//, ''));
    stopBouncer = () => bouncer.stop();
    mkdirSync(dir, { recursive: true });
  });

  afterAll(async () => {
    await stopBouncer?.();
    await t?.stop();
  });

  it('puts them back before the migration commits', async () => {
    const [before] = await raw('postgres', bouncerUrl, SEEN);
    expect(before!.mem).not.toBe('7MB');
    writeFileSync(join(dir, '1_settings.sql'), [
      '-- migrate:up',
      "SELECT set_config('search_path', 'public, pg_catalog', false);",
      "SET work_mem = '7MB';",
      'CREATE TABLE settings_t (id integer PRIMARY KEY);',
      '',
    ].join('\n'));
    writeFileSync(join(dir, '2_pauses.sql'), `-- migrate:up\n-- migrate:no-transaction\n${'SELECT pg_sleep(0.1);\n'.repeat(8)}`);
    const { default: postgres } = await import('postgres');
    const other = postgres(bouncerUrl, { max: 1, prepare: false, onnotice: () => undefined });
    const s = await startStdio(['--config', configFile({ db: { url: bouncerUrl, migrations_dir: dir } })]);
    const seen = new Set<string>();
    try {
      let done = false;
      const run = mustCall(s.client, 'run_migration', { connection: 'db' }).finally(() => { done = true; });
      while (!done) {
        const [r] = await other.unsafe(SEEN);
        seen.add(`${r!.path} / ${r!.mem}`);
      }
      expect(((await run).applied as Json[]).map((m) => m.version)).toEqual(['1', '2']);
    } finally {
      await s.close();
      await other.end({ timeout: 1 });
    }
    expect([...seen]).toEqual([`${before!.path} / ${before!.mem}`]);
  });
});

/**
 * A holder that lost its lease (here: another party took the row over, as a server would
 * after the lease ran out) stops before its next migration instead of racing the new holder.
 */
describe.each((['postgres', 'mysql'] as const).filter(has))('a lost lease on %s', (b) => {
  let t: Topology;
  const dir = tempDir('cmx-race-lost-');

  beforeAll(async () => {
    t = await direct(b);
    mkdirSync(dir, { recursive: true });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('stops before the next migration with BUSY, keeping what it applied', async () => {
    writeFileSync(join(dir, '1_slow.sql'), `-- migrate:up\nCREATE TABLE lost_a (id integer PRIMARY KEY);\n${b === 'postgres' ? 'SELECT pg_sleep(1);' : 'DO SLEEP(1);'}\n`);
    writeFileSync(join(dir, '2_next.sql'), '-- migrate:up\nCREATE TABLE lost_b (id integer PRIMARY KEY);\n');
    const s = await startStdio(['--config', configFile({ db: { url: t.direct, migrations_dir: dir } })]);
    try {
      const run = callTool(s.client, 'run_migration', { connection: 'db' });
      // Once it is in the first migration's pause, it holds the lock.
      const pausing = b === 'postgres'
        ? "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1)%'"
        : "SELECT count(*) AS n FROM information_schema.processlist WHERE info LIKE 'DO SLEEP(1)%'";
      for (let i = 0; Number((await raw(b, t.direct, pausing))[0]!.n) === 0; i++) {
        if (i > 400) throw new Error('the server never reached its pause');
        await new Promise((r) => setTimeout(r, 10));
      }
      await raw(b, t.direct, `UPDATE ${lockTable(b)} SET token = 'someone else', holder = 'another server'`);
      const r = await run;
      expect(r.ok ? 'ok' : r.error.code).toBe('BUSY');
      expect(r.ok ? '' : r.error.message).toMatch(/lease ran out/);
      expect(r.ok ? [] : (r.error.details.applied as Json[]).map((m) => m.version)).toEqual(['1']);
      // The new holder's row is left alone.
      expect((await raw(b, t.direct, `SELECT holder FROM ${lockTable(b)}`)).map((x) => x.holder)).toEqual(['another server']);
    } finally {
      await s.close();
    }
  });
});

/**
 * Two stateless HTTP instances behind haproxy (round robin, README's health checks), one
 * database: two MCP clients race run_migration through the balancer, so each call lands on
 * either instance. Both instances read the same migrations directory.
 */
describe.each((['postgres', 'mysql'] as const).filter(has))('migrations raced through haproxy in front of two stateless instances: %s', (b) => {
  let db: { url: string; drop(): Promise<void> };
  let dir: string;
  const instances: HttpServer[] = [];
  const clients: Client[] = [];
  let lb: Haproxy | undefined;

  beforeAll(async () => {
    db = await freshDatabase(BACKENDS.find((x) => x.name === b)!, `racelb_${b}`);
    dir = tempDir('cmx-race-lb-');
    writeFileSync(join(dir, '0_log.sql'), '-- migrate:up\nCREATE TABLE race_log (round integer PRIMARY KEY);\n');
    const [port] = await frontendPorts(1);
    const config = configFile({ db: { url: db.url, migrations_dir: dir } }, { http: { allowed_hosts: [`127.0.0.1:${port}`] } });
    instances.push(...await Promise.all([0, 1].map(() => startHttpServer(['--config', config, '--stateless', '--log-level', 'debug']))));
    lb = await startHaproxy([{ name: 'race', port: port!, servers: instances.map((i, n) => ({ name: `i${n}`, url: i.url })), sticky: false }]);
    for (let i = 0; i < 2; i++) clients.push((await httpClient(lb.url('race'))).client);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    try {
      await lb?.stop();
    } finally {
      for (const i of instances) await i.stop();
      await db?.drop();
    }
  });

  it(`applies each migration exactly once in ${ROUNDS} rounds and leaves no lock behind`, async () => {
    await raceRounds(`haproxy, ${b}`, b, dir, clients, (sql) => raw(b, db.url, sql));
    // Both instances ran migrations: the balancer did spread the calls.
    for (const i of instances) expect(i.stderr()).toMatch(/"tool":"run_migration"/);
  }, 180_000);
});
