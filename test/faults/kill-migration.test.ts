/**
 * Fault: the server is SIGKILLed during a migration, at random points. Each repetition
 * writes a new migration of three statements (create a table, fill it with 60k rows,
 * index it), starts a server that applies it, and kills it somewhere within the time an
 * undisturbed run takes. Promised (SPEC §4.6):
 * - PostgreSQL, SQLite (transactional): pending with nothing of it in the schema, or
 *   applied with all of it; never a history row without its schema or the reverse.
 * - MySQL/MariaDB (stepwise): the history row stays `running` with `statements_applied`,
 *   and shows as `failed` once no session holds the lock; the schema holds exactly the
 *   statements counted (or one more: the kill can land between a statement and the
 *   count's update); run_migration is refused until repair_migration.
 * Then a restarted server rolls back (or, after a repair, runs and rolls back) again.
 * Rows committed before (a table of 10k rows from an earlier migration) must all stay.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startStdio } from '../support/mcp.js';
import { between, countOf, histogram, killAfter, raw, waitQuiet, type Stdio } from './kill.js';
import { configFile } from './process.js';
import { record, REPEAT, tally, type Tally } from './tally.js';

type Json = Record<string, any>;
const ROWS = 60_000;
const KEEP = 10_000;

function series(backend: TestBackend['name'], n: number, expr: (x: string) => string): string {
  if (backend === 'postgres') return `SELECT ${expr('g')} FROM generate_series(1, ${n}) g`;
  if (backend === 'mysql') return `SELECT ${expr('seq')} FROM seq_1_to_${n}`;
  return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT ${expr('x')} FROM c`;
}

/** The three statements of repetition v's migration, and its down section. */
function migration(backend: TestBackend['name'], v: number): { up: string; down: string } {
  const md5 = backend === 'sqlite' ? (x: string) => `${x}, hex(randomblob(16))` : backend === 'mysql' ? (x: string) => `${x}, md5(${x})` : (x: string) => `${x}, md5(${x}::text)`;
  return {
    up: [
      `CREATE TABLE m_${v} (id integer PRIMARY KEY, p varchar(40));`,
      `INSERT INTO m_${v} (id, p) ${series(backend, ROWS, md5)};`,
      `CREATE INDEX m_${v}_p ON m_${v} (p);`,
    ].join('\n'),
    down: `DROP TABLE m_${v};`,
  };
}

const INDEX_SQL: Record<TestBackend['name'], (v: number) => string> = {
  postgres: (v) => `SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'm_${v}_p'`,
  mysql: (v) => `SELECT count(*) AS n FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'm_${v}_p'`,
  sqlite: (v) => `SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'm_${v}_p'`,
};

function write(dir: string, v: number, m: { up: string; down: string }): string {
  const file = join(dir, `${v}_fill_${v}.sql`);
  writeFileSync(file, `-- migrate:up\n${m.up}\n\n-- migrate:down\n${m.down}\n`);
  return file;
}

describe.each(BACKENDS)('fault: SIGKILL during a migration on $name', (backend: TestBackend) => {
  const t: Tally = tally('server SIGKILLed during a migration', backend.name);
  const dir = tempDir('cmx-kmig-');
  let db: { url: string; drop(): Promise<void> };
  let config: string;
  let took = 0;
  const start = (): Promise<Stdio> => startStdio(['--config', config]);

  /** Statements of repetition v's migration visible in the schema: 0 to 3. */
  async function done(v: number): Promise<number> {
    const n = await countOf(backend.name, db.url, `m_${v}`);
    if (n === null) return 0;
    if (n < ROWS) return n === 0 ? 1 : -1;
    return Number((await raw(backend.name, db.url, INDEX_SQL[backend.name](v)))[0]!.n) === 1 ? 3 : 2;
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    db = await freshDatabase(backend, 'kmig');
    config = configFile({ db: { url: db.url, migrations_dir: dir } });
    // An earlier migration's committed rows, which no kill may lose; and an undisturbed run's time.
    writeFileSync(join(dir, '1_keep.sql'), `-- migrate:up\nCREATE TABLE keep (id integer PRIMARY KEY);\nINSERT INTO keep (id) ${series(backend.name, KEEP, (x) => x)};\n`);
    const first = await start();
    await mustCall(first.client, 'run_migration', { connection: 'db' }).finally(() => first.close());
    // Timed on a fresh server, as the victims are: opening the connection is part of the call.
    const s = await start();
    try {
      const file = write(dir, 2, migration(backend.name, 2));
      const t0 = Date.now();
      await mustCall(s.client, 'run_migration', { connection: 'db' });
      took = Date.now() - t0;
      await mustCall(s.client, 'rollback_migration', { connection: 'db' });
      rmSync(file);
    } finally {
      await s.close();
    }
  });

  afterAll(async () => {
    record(t);
    await db?.drop();
  });

  /** Until the lock is free and nothing shows as running (PostgreSQL ends a dead client's session within ~1 s). */
  async function settledStatus(c: Stdio): Promise<Json> {
    for (let i = 0; ; i++) {
      const s = await mustCall(c.client, 'get_migration_status', { connection: 'db' });
      if (!(s.lock as Json).held && (s.counts as Json).running === 0) return s;
      if (i > 200) throw new Error(`the migration lock is still held: ${JSON.stringify(s.lock)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it(`leaves history and schema in agreement when killed mid-migration, and a restarted server carries on, ${REPEAT} times`, async () => {
    const outcomes: string[] = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      const v = 100 + rep;
      const file = write(dir, v, migration(backend.name, v));
      const victim = await start();
      const call = callTool(victim.client, 'run_migration', { connection: 'db' })
        .then((r) => (r.ok ? 'finished' : `error ${r.error.code} ${r.error.message}`), () => 'killed');
      const [outcome] = await Promise.all([call, killAfter(victim, between(0, took * 1.2))]);
      await victim.close().catch(() => undefined);
      t.runs++;
      await waitQuiet(backend.name, db.url);
      const again = await start();
      try {
        await settledStatus(again);
        const entry = ((await mustCall(again.client, 'list_migrations', { connection: 'db' })).migrations as Json[]).find((m) => m.version === String(v));
        const row = (await raw(backend.name, db.url, `SELECT status, statements_applied FROM ${backend.name === 'postgres' ? 'codomyrmex.' : ''}codomyrmex_migrations WHERE version = ${v}`))[0];
        const seen = await done(v);
        outcomes.push(`${outcome === 'killed' ? 'killed' : outcome}/${entry?.status}:${seen}`);
        if (outcome.startsWith('error')) t.failures.push(`rep ${rep}: ${outcome}`);
        if (seen < 0) t.failures.push(`rep ${rep}: m_${v} holds part of its rows (a statement half-committed)`);
        if (backend.name !== 'mysql') {
          const ok = (entry?.status === 'pending' && !row && seen === 0) || (entry?.status === 'applied' && row?.status === 'applied' && seen === 3);
          if (!ok) t.failures.push(`rep ${rep}: status ${entry?.status}, history ${JSON.stringify(row)}, statements seen in the schema ${seen}`);
        } else {
          const k = row ? Number(row.statements_applied) : 0;
          const ok = !row ? seen === 0 && entry?.status === 'pending'
            : row.status === 'applied' ? seen === 3 && entry?.status === 'applied'
              : entry?.status === 'failed' && (seen === k || seen === k + 1);
          if (!ok) t.failures.push(`rep ${rep}: status ${entry?.status}, history ${JSON.stringify(row)}, statements seen in the schema ${seen}`);
          if (entry?.status === 'failed') {
            const refused = await callTool(again.client, 'run_migration', { connection: 'db' });
            if (refused.ok || refused.error.code !== 'MIGRATION_BLOCKED') t.failures.push(`rep ${rep}: run_migration after a killed stepwise migration gave ${refused.ok ? 'ok' : refused.error.code}`);
            // The operator's part (SPEC §4.4): finish or undo by hand, then repair.
            if (seen === 3) await mustCall(again.client, 'repair_migration', { connection: 'db', migration_id: String(v), action: 'mark_applied' });
            else {
              await raw(backend.name, db.url, `DROP TABLE IF EXISTS m_${v}`);
              await mustCall(again.client, 'repair_migration', { connection: 'db', migration_id: String(v), action: 'mark_pending' });
            }
          }
        }
        await carryOn(again, v, rep);
      } finally {
        await again.close();
        rmSync(file, { force: true });
      }
      const kept = await countOf(backend.name, db.url, 'keep');
      t.lostRows += KEEP - (kept ?? 0);
    }
    console.error(`[faults] migration killed on ${backend.name} (undisturbed ${took} ms): ${histogram(outcomes)}`);
    expect(t.failures).toEqual([]);
    expect(t.lostRows).toBe(0);
  }, 300_000);

  /** The restarted server rolls an applied migration back; a pending one it applies (every fourth time) and rolls back. */
  async function carryOn(c: Stdio, v: number, rep: number): Promise<void> {
    const status = ((await mustCall(c.client, 'list_migrations', { connection: 'db' })).migrations as Json[]).find((m) => m.version === String(v))?.status;
    if (status === 'pending' && rep % 4 === 0) {
      const ran = await callTool(c.client, 'run_migration', { connection: 'db' });
      if (!ran.ok || (await done(v)) !== 3) t.failures.push(`rep ${rep}: the restarted server could not apply it: ${JSON.stringify(ran.ok ? ran.data : ran.error)}`);
    }
    const now = ((await mustCall(c.client, 'list_migrations', { connection: 'db' })).migrations as Json[]).find((m) => m.version === String(v))?.status;
    if (now === 'applied') {
      const back = await callTool(c.client, 'rollback_migration', { connection: 'db' });
      if (!back.ok || (await countOf(backend.name, db.url, `m_${v}`)) !== null) t.failures.push(`rep ${rep}: the restarted server could not roll it back: ${JSON.stringify(back.ok ? back.data : back.error)}`);
    }
  }
});
