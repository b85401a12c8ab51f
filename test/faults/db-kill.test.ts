/**
 * Issue 8, database faults: "connection killed mid-transaction (nothing committed,
 * process alive)". PostgreSQL and MariaDB: the session running execute_transaction is
 * killed from an admin connection of the test's own (pg_terminate_backend, KILL
 * CONNECTION) while it sleeps between its inserts. SQLite: the host process is
 * SIGKILLed while the transaction runs. Each time: the call answers CONNECTION_LOST,
 * none of the transaction's rows is committed, earlier committed rows are all there,
 * the server process answers, and the same connection serves the next query.
 */
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { adminFor, checkAlive, childPids, describeOutcome, noteGuarded, query, runningWith, sleep, startServer, waitFor, type Admin, type ServerProcess } from './db-harness.js';
import { record, REPEAT, tally, type Tally } from './tally.js';
import { BACKENDS, uniqueName, type TestBackend } from '../support/backends.js';
import { callTool, rowsOf } from '../support/mcp.js';

const tallies: Tally[] = [];
afterAll(() => tallies.forEach(record));

// Backends run side by side, each with its own server and table.
describe('connection killed mid-transaction', () => {
  for (const backend of BACKENDS) {
    it.concurrent(`${backend.name} × ${REPEAT}: CONNECTION_LOST, nothing committed, the connection serves again`, async () => {
      const t = tally('connection killed mid-transaction', backend.name);
      tallies.push(t);
      const table = uniqueName('faults_kill');
      const url = backend.url();
      const spawnServer = () => startServer({ db: { url } });
      const live = { server: await spawnServer() };
      const admin = backend.name === 'sqlite' ? undefined : await adminFor(backend.name, url);
      try {
        const created = await query(live.server, 'db', `CREATE TABLE ${table} (rep int NOT NULL, kind varchar(16) NOT NULL)`);
        if (!created.ok) throw new Error(describeOutcome(created));
        await repeatKills(backend, url, table, live, spawnServer, admin, t);
      } finally {
        noteGuarded(`kill ${backend.name}`, live.server);
        await query(live.server, 'db', `DROP TABLE ${table}`).catch(() => undefined);
        await live.server.close().catch(() => undefined);
        await admin?.close().catch(() => undefined);
      }
      expect(t.crashes).toBe(0);
      expect(t.lostRows + t.phantomRows).toBe(0);
      expect(t.failures).toEqual([]);
    }, 60_000 + REPEAT * 10_000);
  }
});

/** Counts rows of one repetition by kind, outside the server under test. */
function counterFor(url: string, table: string, admin: Admin | undefined): (rep: number) => Promise<Map<string, number>> {
  if (admin) {
    return async (rep) => new Map((await admin.rows(`SELECT kind, count(*) AS n FROM ${table} WHERE rep = ${rep} GROUP BY kind`)).map((r) => [String(r.kind), Number(r.n)]));
  }
  const file = url.replace(/^sqlite:\/\//, '');
  return async (rep) => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare(`SELECT kind, count(*) AS n FROM ${table} WHERE rep = ? GROUP BY kind`).all(rep) as Array<{ kind: string; n: number }>;
      return new Map(rows.map((r) => [r.kind, r.n]));
    } finally {
      db.close();
    }
  };
}

/** Kills the session (SQLite: the host) running the transaction; returns a failure message when it could not. */
async function killVictim(backend: TestBackend, server: ServerProcess, admin: Admin | undefined, marker: string): Promise<string | undefined> {
  if (!admin) {
    await sleep(150); // the inserts take microseconds; by now the runaway SELECT is running
    const hosts = childPids(server.pid, 'sqlite-host');
    if (hosts.length !== 1) return `expected one SQLite host, found ${hosts.length}`;
    process.kill(hosts[0]!, 'SIGKILL');
    return undefined;
  }
  const flavor = backend.name as 'postgres' | 'mysql';
  let ids: number[] = [];
  await waitFor(async () => (ids = await runningWith(admin, flavor, marker)).length > 0, 3000);
  if (ids.length !== 1) return `expected one session running the transaction, found ${ids.length}`;
  if (flavor === 'postgres') await admin.rows('SELECT pg_terminate_backend($1)', [ids[0]]);
  else await admin.rows(`KILL CONNECTION ${Number(ids[0])}`);
  return undefined;
}

async function repeatKills(backend: TestBackend, url: string, table: string, live: { server: ServerProcess }, spawnServer: () => Promise<ServerProcess>, admin: Admin | undefined, t: Tally): Promise<void> {
  const counter = counterFor(url, table, admin);
  for (let rep = 0; rep < REPEAT; rep++) {
    const server = live.server;
    const fail = (msg: string): void => { t.failures.push(`rep ${rep}: ${msg}`); };
    const marker = `kill-${process.pid}-${rep} */`;
    const before = await query(server, 'db', `INSERT INTO ${table} (rep, kind) VALUES (${rep}, 'before')`);
    if (!before.ok) fail(`committed write failed: ${describeOutcome(before)}`);

    const call = callTool(server.client, 'execute_transaction', {
      connection: 'db',
      timeout_ms: 10_000,
      queries: [
        { query: `INSERT INTO ${table} (rep, kind) VALUES (${rep}, 'tx1')` },
        { query: `INSERT INTO ${table} (rep, kind) VALUES (${rep}, 'tx2')` },
        { query: `${sleepSql(backend)} /* ${marker}` },
        { query: `INSERT INTO ${table} (rep, kind) VALUES (${rep}, 'tx3')` },
      ],
    }, { timeout: 30_000 });
    const notKilled = await killVictim(backend, server, admin, marker);
    if (notKilled) fail(notKilled);
    const r = await call.catch((err: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER', message: err.message } }));
    if (r.ok || r.error.code !== 'CONNECTION_LOST') fail(`expected CONNECTION_LOST, got ${r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`}`);

    const counts = await counter(rep);
    const phantom = (counts.get('tx1') ?? 0) + (counts.get('tx2') ?? 0) + (counts.get('tx3') ?? 0);
    if (phantom) { t.phantomRows += phantom; fail(`${phantom} row(s) of the killed transaction committed`); }
    if (before.ok && (counts.get('before') ?? 0) !== 1) { t.lostRows += 1; fail(`committed row found ${counts.get('before') ?? 0} times`); }

    live.server = await checkAlive(server, t, spawnServer);
    const next = await query(live.server, 'db', `SELECT count(*) AS n FROM ${table} WHERE rep = ${rep}`);
    if (!next.ok) fail(`the next query on the same connection failed: ${describeOutcome(next)}`);
    else if (Number(rowsOf(next.data)[0]?.n) !== (before.ok ? 1 : 0)) fail(`the next query saw ${JSON.stringify(rowsOf(next.data))}`);
    t.runs++;
  }
}

function sleepSql(backend: TestBackend): string {
  // SQLite has no sleep: the runaway recursive CTE of backends.ts runs until the host is killed.
  return backend.name === 'sqlite' ? backend.sleep(0) : backend.sleep(5);
}
