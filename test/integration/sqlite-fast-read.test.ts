/**
 * Reads the server runs in its own process (src/core/backends/sqlite/fast-read.ts), with
 * the budget extension dist/sqlite-budget.so (built by `npm test`): they answer without the
 * host, a read past the budget is stopped and goes to the host, and nothing a read could
 * see differs from what the host would have answered.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { DbError } from '../../src/errors.js';
import type { ExecOptions } from '../../src/core/dialect.js';
import { createSqliteDialect, type SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';
import { q, sqliteFiles } from '../support/sqlite-files.js';

const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c';
const files = sqliteFiles('cmx-fast-');
/** In-memory dialects, which no file holds. */
const dialects: SqliteDialect[] = [];
afterEach(async () => {
  await Promise.all(dialects.splice(0).map((d) => d.close()));
});

function fileDb(readOnly = false, file?: string): { d: SqliteDialect; file: string } {
  const path = file ?? files.newFile();
  return { d: files.open(path, readOnly), file: path };
}

const opts = (over: Partial<ExecOptions> = {}): ExecOptions => ({ maxRows: 1000, maxBytes: 1_000_000, timeoutMs: 5000, ...over });

async function failure(p: Promise<unknown>): Promise<DbError> {
  const err = await p.then(() => new Error('expected the call to fail'), (e: unknown) => e);
  expect(err).toBeInstanceOf(DbError);
  return err as DbError;
}

/** Runs fn while the host process is stopped (SIGSTOP): only what runs in this process can answer. */
async function hostStopped<T>(d: SqliteDialect, fn: () => Promise<T>): Promise<T> {
  const pid = d.hostPid();
  expect(pid).not.toBeNull();
  process.kill(pid!, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid!, 'SIGCONT');
  }
}

describe('sqlite reads in the server process', () => {
  it('answer reads of every shape without the host, with the host\'s types and caps', async () => {
    // Widened (fast-read.ts budgetMs): a loaded machine's own pauses must not send these reads to the stopped host.
    process.env.CODOMYRMEX_SQLITE_BUDGET_MS = '250';
    onTestFinished(() => { delete process.env.CODOMYRMEX_SQLITE_BUDGET_MS; });
    const { d } = fileDb();
    await d.execute(q("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, big INTEGER)"), opts());
    await d.execute(q("INSERT INTO t VALUES (1, 'a', 1.5, x'00ff', 9007199254740993), (2, 'b', NULL, NULL, -1), (3, 'c', 2.0, x'', 0)"), opts());
    const before = await d.execute(q('SELECT id, name, score, data, big, id * 2 AS twice FROM t WHERE id >= ? ORDER BY id', [1]), opts());
    const capped = await d.execute(q('SELECT id FROM t ORDER BY id'), opts({ maxRows: 2 }));
    await hostStopped(d, async () => {
      const r = await d.execute(q('SELECT id, name, score, data, big, id * 2 AS twice FROM t WHERE id >= ? ORDER BY id', [1]), opts());
      expect(r).toEqual({ ...before, elapsed_ms: r.elapsed_ms });
      expect(String(r.rows[0].big)).toBe('9007199254740993');
      const c = await d.execute(q('SELECT id FROM t ORDER BY id'), opts({ maxRows: 2 }));
      expect(c).toEqual({ ...capped, elapsed_ms: c.elapsed_ms });
      expect(c.truncated).toBe(true);
      const plan = await d.execute(q('SELECT count(*) AS n FROM t'), opts({ explain: { analyze: false } }));
      expect(plan.rows.length).toBeGreaterThan(0);
    });
  });

  it('stop a read at the budget and hand it to the host, which stops it at the call\'s timeout; the event loop is never held for long', async () => {
    const { d } = fileDb();
    await d.connect();
    let last = performance.now();
    let longest = 0;
    const tick = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 5);
    try {
      const err = await failure(d.execute(q(RUNAWAY), opts({ timeoutMs: 700 })));
      expect(err.code).toBe('TIMEOUT');
      // A slow read that finishes on the host gives its whole answer.
      const r = await d.execute(q('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c'), opts());
      expect(r.rows).toEqual([{ n: 3000000 }]);
    } finally {
      clearInterval(tick);
    }
    // Unstopped, the runaway read would hold this process for good; the budget is 5 ms.
    expect(longest).toBeLessThan(500);
  });

  it('keep the budget out of the agents\' reach: the function answers only the server\'s key, and extensions cannot be loaded from SQL', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    for (const text of ['SELECT cmx_budget(randomblob(16), 0)', "SELECT cmx_budget(x'00000000000000000000000000000000', 3600000)", 'SELECT cmx_budget(NULL, 0)']) {
      const err = await failure(d.execute(q(text), opts()));
      expect(err.message).toMatch(/no such function: cmx_budget/);
    }
    const loaded = await failure(d.execute(q("SELECT load_extension('/tmp/none.so')"), opts()));
    expect(loaded.code).not.toBe('INTERNAL');
    // A read after them is still stopped at the budget, not run unbounded in this process.
    await d.connect();
    const err = await failure(hostStopped(d, () => d.execute(q(RUNAWAY), opts({ timeoutMs: 300 }))));
    expect(err.code).toBe('TIMEOUT');
  });

  it('leave reads of the connection\'s own state to the host (last_insert_rowid, changes, PRAGMA)', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'), opts());
    await d.execute(q("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"), opts());
    expect((await d.execute(q('SELECT last_insert_rowid() AS id'), opts())).rows).toEqual([{ id: 3 }]);
    expect((await d.execute(q('SELECT changes() AS n, total_changes() AS t'), opts())).rows).toEqual([{ n: 3, t: 3 }]);
    expect((await d.execute(q('PRAGMA foreign_keys'), opts())).rows).toEqual([{ foreign_keys: 1 }]);
  });

  it('give the host\'s errors: a missing table, a syntax error, a write on a read-only connection', async () => {
    const { d, file } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    const missing = await failure(d.execute(q('SELECT * FROM nothing_here'), opts()));
    expect(missing.message).toMatch(/no such table: nothing_here/);
    const syntax = await failure(d.execute(q('SELECT FROM WHERE'), opts()));
    expect(syntax.code).toBe('SYNTAX_ERROR');
    const { d: ro } = fileDb(true, file);
    expect((await ro.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 0 }]);
    const write = await failure(ro.execute(q('INSERT INTO t VALUES (1)'), opts()));
    expect(write.code).toBe('READ_ONLY_VIOLATION');
  });

  it('see every write committed before them, and the file the host has open', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    for (let i = 1; i <= 20; i++) {
      await d.execute(q('INSERT INTO t VALUES (?)', [i]), opts());
      expect((await d.execute(q('SELECT count(*) AS n, max(id) AS m FROM t'), opts())).rows).toEqual([{ n: i, m: i }]);
    }
    await d.transaction([q('DELETE FROM t WHERE id > 10'), q('INSERT INTO t VALUES (100)')], opts());
    expect((await d.execute(q('SELECT count(*) AS n, max(id) AS m FROM t'), opts())).rows).toEqual([{ n: 11, m: 100 }]);
    // A statement that changes the session gets the file a new host; reads follow it.
    await d.execute(q('CREATE TEMP TABLE scratch (x)'), opts());
    await d.execute(q('INSERT INTO t VALUES (101)'), opts());
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 12 }]);
  });

  it('see the schema as it is now: a statement read before is read again after a change', async () => {
    const { d } = fileDb();
    await d.execute(q('CREATE TABLE t (a INTEGER)'), opts());
    await d.execute(q('INSERT INTO t VALUES (1)'), opts());
    const star = q('SELECT * FROM t');
    expect((await d.execute(star, opts())).columns.map((c) => c.name)).toEqual(['a']);
    await d.execute(q("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'"), opts());
    expect((await d.execute(star, opts())).rows).toEqual([{ a: 1, b: 'x' }]);
    await d.transaction([q('DROP TABLE t'), q('CREATE TABLE t (z REAL)'), q('INSERT INTO t VALUES (2.5)')], opts());
    const after = await d.execute(star, opts());
    expect([after.columns, after.rows]).toEqual([[{ name: 'z', type: 'real' }], [{ z: 2.5 }]]);
    await d.execute(q('DROP TABLE t'), opts());
    expect((await failure(d.execute(star, opts()))).message).toMatch(/no such table: t/);
  });

  it('are not used for in-memory databases, which live in the host', async () => {
    const d = createSqliteDialect({
      backend: 'sqlite', name: 'mem', url: 'sqlite::memory:', readOnly: false, poolSize: 1,
      statementTimeoutMs: 5000, acquireTimeoutMs: 10_000, logger: pino({ level: 'silent' }), file: ':memory:',
    });
    dialects.push(d);
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await d.execute(q('INSERT INTO t VALUES (7)'), opts());
    expect((await d.execute(q('SELECT id FROM t'), opts())).rows).toEqual([{ id: 7 }]);
  });
});
