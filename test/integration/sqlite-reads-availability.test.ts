/**
 * What any way of running SQLite reads must keep, as the host process does: the event loop
 * free while a statement runs long (one long function call, straight-line work, a slow
 * prepare), a large value out of the server's memory, the connection's own state read as
 * the host's connection has it (also through a view or a pragma_ table), nothing keeping the
 * host from the file. Written by the independent review of a design that ran short reads
 * on the server's own thread (ee36714, reverted), which failed seven of these eleven.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import type { ExecOptions, Statement } from '../../src/core/dialect.js';
import { createSqliteDialect, type SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';

const logger = pino({ level: 'silent' });
const dialects: SqliteDialect[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dialects.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync('/tmp/cmx-fastrv-');
  dirs.push(dir);
  return dir;
}

function fileDb(readOnly = false, file?: string): { d: SqliteDialect; file: string } {
  const path = file ?? join(newDir(), 'db.sqlite');
  const d = createSqliteDialect({
    backend: 'sqlite', name: 'test', url: `sqlite:${path}`, readOnly, poolSize: 1,
    statementTimeoutMs: 5000, acquireTimeoutMs: 60_000, logger, file: path,
  });
  dialects.push(d);
  return { d, file: path };
}

const opts = (over: Partial<ExecOptions> = {}): ExecOptions => ({ maxRows: 1000, maxBytes: 1_000_000, timeoutMs: 5000, ...over });
const q = (text: string, params: unknown[] = []): Statement => ({ text, params });

async function failure(p: Promise<unknown>): Promise<DbError> {
  const err = await p.then(() => new Error('expected the call to fail'), (e: unknown) => e);
  expect(err).toBeInstanceOf(DbError);
  return err as DbError;
}

/** Longest gap between 5 ms ticks while fn runs: how long the event loop was held. */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ value: T | Error; stall: number; ms: number }> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 5);
  const t0 = performance.now();
  try {
    const value = await fn().catch((e: Error) => e);
    return { value, stall: Math.max(longest, performance.now() - last), ms: performance.now() - t0 };
  } finally {
    clearInterval(tick);
  }
}

const threads = () => readdirSync('/proc/self/task').length;
const fds = () => readdirSync('/proc/self/fd').length;
const hwmMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

describe('sqlite reads: availability of the server process', () => {
  // SQLite checks the interrupt flag only at jumps between opcodes: one function call runs to its end.
  it('a read that is one long function call is stopped at the call timeout, the event loop free', async () => {
    const { d } = fileDb();
    await d.connect();
    const r = await longestStall(() => d.execute(q("SELECT instr(printf('%.*c', 3000000, 'a'), printf('%.*c', 100000, 'a') || 'b') AS i"), opts({ timeoutMs: 1000 })));
    console.log('instr: stall', r.stall.toFixed(0), 'ms; call', r.ms.toFixed(0), 'ms;', (r.value as Error).message ?? r.value);
    expect(r.stall).toBeLessThan(500);
    expect(r.ms).toBeLessThan(2500);
  });

  it('straight-line expressions (no jump between them) are not interrupted either', async () => {
    const { d } = fileDb();
    await d.connect();
    const cols = Array.from({ length: 6 }, () => 'length(randomblob(150000000))').join(', ');
    const r = await longestStall(() => d.execute(q(`SELECT ${cols}`), opts({ timeoutMs: 1000 })));
    console.log('randomblob x6: stall', r.stall.toFixed(0), 'ms; call', r.ms.toFixed(0), 'ms');
    expect(r.stall).toBeLessThan(500);
  });

  it('a read slow to prepare (a tree of UNION ALL views) is not stopped at the budget', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (x)'), opts());
    await d.execute(q('CREATE VIEW v0 AS SELECT x FROM t'), opts());
    for (let k = 1; k <= 14; k++) await d.execute(q(`CREATE VIEW v${k} AS SELECT x FROM v${k - 1} UNION ALL SELECT x FROM v${k - 1}`), opts());
    const r = await longestStall(() => d.execute(q('SELECT count(*) AS n FROM v14'), opts()));
    console.log('prepare of v14: stall', r.stall.toFixed(0), 'ms');
    // The host prepares it (about 0.3 s when it ran in this process); a loaded machine's own pauses stay well under this.
    expect(r.stall).toBeLessThan(250);
  });

  it('one large value stays in the host (SPEC 7 Values): the server process does not hold it', async () => {
    const { d } = fileDb();
    await d.connect();
    const before = hwmMb();
    // The host builds a 400 MB string: seconds on a loaded machine (CI timed out at 5 s), so the call gets a minute.
    const r = await d.execute(q("SELECT printf('%.*c', 400000000, 'x') AS v"), opts({ maxBytes: 1000, timeoutMs: 60_000 }));
    console.log('peak RSS before', before.toFixed(0), 'MB, after', hwmMb().toFixed(0), 'MB; truncated', r.truncated);
    expect(hwmMb() - before).toBeLessThan(200);
  }, 90_000);
});

describe('sqlite reads: answers equal to the host\'s', () => {
  it('a view over changes() / last_insert_rowid() / total_changes()', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'), opts());
    await d.execute(q('CREATE VIEW conn_state AS SELECT changes() AS n, last_insert_rowid() AS id, total_changes() AS t'), opts());
    await d.execute(q("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"), opts());
    const direct = await d.execute(q('SELECT changes() AS n, last_insert_rowid() AS id, total_changes() AS t'), opts());
    const viaView = await d.execute(q('SELECT * FROM conn_state'), opts());
    console.log('direct', direct.rows, 'view', viaView.rows);
    expect(viaView.rows).toEqual(direct.rows);
  });

  it('pragma table-valued functions (pragma_busy_timeout) slip past the "pragma" word check', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    const host = await d.execute(q('PRAGMA busy_timeout'), opts());
    const tvf = await d.execute(q('SELECT timeout FROM pragma_busy_timeout'), opts());
    console.log('PRAGMA busy_timeout', host.rows, 'pragma_busy_timeout', tvf.rows);
    expect(tvf.rows[0].timeout).toEqual(host.rows[0].timeout);
  });
});

describe('sqlite reads: the fast connection next to the host', () => {
  it('PRAGMA journal_mode = DELETE on a writable connection after a read', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await d.execute(q('SELECT count(*) FROM t'), opts());
    const r = await d.execute(q('PRAGMA journal_mode = DELETE'), opts()).catch((e: DbError) => e);
    console.log('journal_mode=DELETE ->', r instanceof Error ? `${(r as DbError).code} ${r.message}` : JSON.stringify(r.rows));
    expect(r).not.toBeInstanceOf(Error);
    expect((r as { rows: Array<Record<string, unknown>> }).rows[0]).toEqual({ journal_mode: 'delete' });
  });

  it('threads and fds come back after many connections, host restarts and reads stopped at the budget', async () => {
    const dir = newDir();
    const file = join(dir, 'db.sqlite');
    const { d: first } = fileDb(false, file);
    await first.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await first.close();
    const t0 = threads();
    const f0 = fds();
    for (let i = 0; i < 15; i++) {
      const { d } = fileDb(false, file);
      await d.execute(q('SELECT count(*) FROM t'), opts());
      await d.execute(q('PRAGMA cache_size = 100'), opts()); // new host: fast reopened
      await d.execute(q('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 300000) SELECT count(*) FROM c'), opts());
      await d.close();
    }
    console.log('threads', t0, '->', threads(), 'fds', f0, '->', fds());
    expect(threads()).toBeLessThanOrEqual(t0 + 1);
    expect(fds()).toBeLessThanOrEqual(f0 + 1);
  });

  it('close while reads run, over and over: each read answers or fails with a code, and the database serves on', async () => {
    const { d: first, file } = fileDb();
    await first.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    const outcomes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const { d } = fileDb(false, file);
      const p = d.execute(q('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) SELECT count(*) AS n FROM c'), opts())
        .then((r) => `rows ${JSON.stringify(r.rows)}`, (e: unknown) => (e instanceof DbError ? e.code : `not a DbError: ${String(e)}`));
      await new Promise((r) => setTimeout(r, i % 12));
      await d.close();
      outcomes.add(await p);
    }
    for (const o of outcomes) expect(o).toMatch(/^(rows \[\{"n":100000\}\]|CONNECTION_LOST|CANCELLED)$/);
    expect((await first.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 0 }]);
  });

  it('the escapes the host refused stay refused on a read-only connection, and create no file', async () => {
    const { d: rw, file } = fileDb();
    await rw.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await rw.close();
    const { d } = fileDb(true, file);
    const dir = join(file, '..');
    await d.execute(q('SELECT count(*) FROM t'), opts());
    for (const text of [
      `VACUUM INTO '${dir}/copy.db'`, `ATTACH '${dir}/new.db' AS x`, 'WITH x(v) AS (SELECT 1) INSERT INTO t SELECT v FROM x',
      "SELECT load_extension('dist/sqlite-budget.so')", 'SELECT * FROM t; DELETE FROM t', "SELECT cmx_budget(zeroblob(16), 1)",
    ]) {
      const err = await failure(d.execute(q(text), opts()));
      expect(err.code, text).not.toBe('INTERNAL');
    }
    expect(readdirSync(dir).filter((f) => !f.startsWith('db.sqlite'))).toEqual([]);
  });

  it('a read while another process holds BEGIN EXCLUSIVE (rollback journal) waits for it, as the host did', async () => {
    const file = join(newDir(), 'db.sqlite');
    const { default: Database } = await import('better-sqlite3');
    const made = new Database(file);
    made.exec('CREATE TABLE t (id INTEGER)');
    made.close();
    // Byte 18 of the header: 1 rollback journal, 2 WAL.
    expect(readFileSync(file)[18]).toBe(1);
    const { d } = fileDb(true, file);
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 0 }]);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', `
      const D = require(${JSON.stringify(join(process.cwd(), 'node_modules/better-sqlite3'))});
      const db = new D(${JSON.stringify(file)});
      db.exec('BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r2) => child.once('exit', r2));
    await new Promise((r) => child.stdout.once('data', r));
    const r = await longestStall(() => d.execute(q('SELECT count(*) AS n FROM t'), opts({ timeoutMs: 4000 })));
    await exited;
    console.log('read under an external EXCLUSIVE lock', JSON.stringify((r.value as { rows?: unknown }).rows ?? (r.value as Error).message), 'stall', r.stall.toFixed(0), 'call', r.ms.toFixed(0));
    expect((r.value as { rows: unknown }).rows).toEqual([{ n: 1 }]);
    expect(r.stall).toBeLessThan(100);
  });
});
