/**
 * The SQLite dialect against real better-sqlite3 in its host process (dist/sqlite-host.js,
 * built by `npm test`). Every test owns a temp directory and its own database file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DbError } from '../../src/errors.js';
import type { ExecOptions, Statement } from '../../src/core/dialect.js';
import { createSqliteDialect, type SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';

const logger = pino({ level: 'silent' });
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c';

const dialects: SqliteDialect[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dialects.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-sqlite-'));
  dirs.push(dir);
  return dir;
}

function open(file: string, readOnly = false): SqliteDialect {
  const d = createSqliteDialect({
    backend: 'sqlite', name: 'test', url: `sqlite:${file}`, readOnly, poolSize: 1,
    statementTimeoutMs: 5000, acquireTimeoutMs: 10_000, logger, file,
  });
  dialects.push(d);
  return d;
}

function opts(over: Partial<ExecOptions> = {}): ExecOptions {
  return { maxRows: 1000, maxBytes: 1_000_000, timeoutMs: 5000, ...over };
}

function q(text: string, params: unknown[] = []): Statement {
  return { text, params };
}

async function failure(p: Promise<unknown>, code: string): Promise<DbError> {
  const err = await p.then(() => new Error('expected the call to fail'), (e: unknown) => e);
  expect(err).toBeInstanceOf(DbError);
  expect((err as DbError).code, (err as DbError).message).toBe(code);
  return err as DbError;
}

async function count(d: SqliteDialect, table: string): Promise<number> {
  const r = await d.execute(q(`SELECT count(*) AS n FROM ${table}`), opts());
  return r.rows[0].n as number;
}

describe('sqlite dialect: results', () => {
  it('connects and reports the SQLite version and file', async () => {
    const file = join(tempDir(), 'db.sqlite');
    const info = await open(file).connect();
    expect(info.server_version).toMatch(/^3\.\d+\.\d+$/);
    expect(info).toMatchObject({ database: file, flavor: null, user: null });
  });

  it('closes its host and reopens on the next call', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    expect(d.poolState()).toEqual({ open: 1, busy: 0, waiting: 0, max: 1 });
    await d.close();
    expect(d.poolState().open).toBe(0);
    expect(await count(d, 't')).toBe(0);
  });

  it('returns rows with column names, declared types, and the storage class of an expression column', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price REAL)'), opts());
    await d.execute(q('INSERT INTO t (name, price) VALUES (?, ?)', ['pen', 1.5]), opts());
    const r = await d.execute(q('SELECT id, name, price, price * 2 AS double FROM t'), opts());
    expect(r.columns).toEqual([
      { name: 'id', type: 'integer' }, { name: 'name', type: 'text' },
      { name: 'price', type: 'real' }, { name: 'double', type: 'real' },
    ]);
    expect(r.rows).toEqual([{ id: 1, name: 'pen', price: 1.5, double: 3 }]);
    expect(r).toMatchObject({ row_count: 1, affected_rows: null, truncated: false });
  });

  it('reports affected rows of an INSERT and stores JS integers as integers', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (v)'), opts());
    const r = await d.execute(q('INSERT INTO t VALUES (?), (?), (?)', [1, 2, true]), opts());
    expect(r).toMatchObject({ rows: [], columns: [], affected_rows: 3, row_count: 3 });
    const types = await d.execute(q('SELECT typeof(v) AS t FROM t'), opts());
    expect(types.rows.map((row) => row.t)).toEqual(['integer', 'integer', 'integer']);
  });

  it('keeps integers above 2^53 exact (as strings) and blobs as base64', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (big INTEGER, data BLOB)'), opts());
    await d.execute(q('INSERT INTO t VALUES (?, ?)', [9007199254740993n, Buffer.from([0, 1, 2, 255])]), opts());
    const r = await d.execute(q('SELECT big, data, 9007199254740993 AS literal, 42 AS small FROM t'), opts());
    expect(r.rows).toEqual([{ big: '9007199254740993', data: 'AAEC/w==', literal: '9007199254740993', small: 42 }]);
  });

  it('stops at max_rows and says the result was truncated', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10) SELECT x FROM c';
    const cut = await d.execute(q(sql), opts({ maxRows: 3 }));
    expect(cut.rows).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(cut).toMatchObject({ truncated: true, row_count: 3 });
    const whole = await d.execute(q(sql), opts({ maxRows: 10 }));
    expect(whole).toMatchObject({ truncated: false, row_count: 10 });
  });

  it('stops once the rows pass max_bytes', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    const sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100) SELECT x, printf('%.100c', 'a') AS pad FROM c";
    const r = await d.execute(q(sql), opts({ maxBytes: 1000 }));
    expect(r.truncated).toBe(true);
    expect(r.rows.length).toBeGreaterThan(0);
    expect(r.rows.length).toBeLessThan(100);
    expect(Buffer.byteLength(JSON.stringify(r.rows))).toBeLessThanOrEqual(1000 + r.rows.length + 2);
  });

  it('caps a 10M-row result without computing it', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10000000) SELECT x FROM c';
    // Reading all 10M rows takes far longer than 3 s: success means the host stopped early.
    const r = await d.execute(q(sql), opts({ maxRows: 100, timeoutMs: 3000 }));
    expect(r.rows).toHaveLength(100);
    expect(r.truncated).toBe(true);
    expect(r.elapsed_ms).toBeLessThan(1000);
  });
});

describe('sqlite dialect: timeouts and cancellation', () => {
  it('stops a runaway statement at its timeout while other connections keep answering', async () => {
    const dir = tempDir();
    const a = open(join(dir, 'a.sqlite'));
    const b = open(join(dir, 'b.sqlite'));
    await a.execute(q('CREATE TABLE kept (id INTEGER)'), opts());
    await a.execute(q('INSERT INTO kept VALUES (1)'), opts());
    await b.connect();

    const started = performance.now();
    let stuckFor = -1;
    const runaway = a.execute(q(RUNAWAY), opts({ timeoutMs: 1000 })).finally(() => { stuckFor = performance.now() - started; });
    const queued = a.execute(q('SELECT 7 AS seven'), opts());
    const other = await b.execute(q('SELECT 42 AS answer'), opts());
    expect(other.rows).toEqual([{ answer: 42 }]);
    expect(stuckFor).toBe(-1); // b answered while a was still stuck
    expect(a.poolState()).toMatchObject({ busy: 1, waiting: 1 });

    const err = await failure(runaway, 'TIMEOUT');
    expect(err.message).toContain('1000 ms');
    expect(err.details).toMatchObject({ timeout_ms: 1000, database_reset: false });
    expect(stuckFor).toBeLessThan(2000);
    expect((await queued).rows).toEqual([{ seven: 7 }]);
    expect(await count(a, 'kept')).toBe(1); // a file database survives the kill
  });

  it('stops a running statement when the call is aborted', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.connect();
    const ac = new AbortController();
    const started = performance.now();
    setTimeout(() => ac.abort(), 200);
    await failure(d.execute(q(RUNAWAY), opts({ timeoutMs: 60_000, signal: ac.signal })), 'CANCELLED');
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await d.execute(q('SELECT 1 AS one'), opts())).rows).toEqual([{ one: 1 }]);
  });

  it('says so when stopping a statement loses an in-memory database', async () => {
    const d = open(':memory:');
    expect(d.capabilities.cancelKeepsDatabase).toBe(false);
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    const err = await failure(d.execute(q(RUNAWAY), opts({ timeoutMs: 300 })), 'TIMEOUT');
    expect(err.details.database_reset).toBe(true);
    await failure(d.execute(q('SELECT * FROM t'), opts()), 'UNDEFINED_OBJECT');
  });

  it('starts a new host after the host was killed from outside', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.connect();
    const first = d.hostPid() as number;
    process.kill(first, 'SIGKILL');
    await vi.waitFor(() => expect(d.hostPid()).toBeNull());
    expect((await d.execute(q('SELECT 1 AS one'), opts())).rows).toEqual([{ one: 1 }]);
    expect(d.hostPid()).not.toBe(first);
  });

  it('fails the call in flight with CONNECTION_LOST when the host dies under it', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.connect();
    const pid = d.hostPid() as number;
    const running = d.execute(q(RUNAWAY), opts({ timeoutMs: 30_000 }));
    setTimeout(() => process.kill(pid, 'SIGKILL'), 100);
    await failure(running, 'CONNECTION_LOST');
    expect((await d.execute(q('SELECT 1 AS one'), opts())).rows).toEqual([{ one: 1 }]);
  });
});

describe('sqlite dialect: transactions and errors', () => {
  it('leaves no trace of a failed transaction and names the failing statement', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY)'), opts());
    const err = await failure(d.transaction([
      q('INSERT INTO t VALUES (1)'), q('CREATE TABLE t2 (x)'), q('INSERT INTO t VALUES (1)'),
    ], opts()), 'CONSTRAINT_VIOLATION');
    expect(err.details.statement_index).toBe(2);
    expect(await count(d, 't')).toBe(0);
    await failure(d.execute(q('SELECT * FROM t2'), opts()), 'UNDEFINED_OBJECT');

    const ok = await d.transaction([q('INSERT INTO t VALUES (1)'), q('SELECT id FROM t')], opts());
    expect(ok.map((r) => r.affected_rows)).toEqual([1, null]);
    expect(ok[1].rows).toEqual([{ id: 1 }]);
  });

  it('maps constraint, syntax and missing-object errors to their codes', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)'), opts());
    const c = await failure(d.execute(q('INSERT INTO t (name) VALUES (NULL)'), opts()), 'CONSTRAINT_VIOLATION');
    expect(c.details.sqlite_code).toBe('SQLITE_CONSTRAINT_NOTNULL');
    await failure(d.execute(q('SELEC 1'), opts()), 'SYNTAX_ERROR');
    await failure(d.execute(q('SELECT (1'), opts()), 'SYNTAX_ERROR');
    await failure(d.execute(q('SELECT * FROM missing'), opts()), 'UNDEFINED_OBJECT');
    await failure(d.execute(q('CREATE TABLE t (x)'), opts()), 'DUPLICATE_OBJECT');
    await failure(d.execute(q('SELECT ?'), opts()), 'INVALID_INPUT');
  });

  it('refuses several statements and transaction control before they run', async () => {
    const d = open(join(tempDir(), 'db.sqlite'));
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await failure(d.execute(q('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)'), opts()), 'INVALID_INPUT');
    await failure(d.execute(q('BEGIN'), opts()), 'INVALID_INPUT');
    const err = await failure(d.transaction([q('INSERT INTO t VALUES (1)'), q('COMMIT')], opts()), 'INVALID_INPUT');
    expect(err.details.statement_index).toBe(1);
    expect(await count(d, 't')).toBe(0);
  });
});

describe('sqlite dialect: read-only connections', () => {
  async function seeded(): Promise<{ dir: string; file: string }> {
    const dir = tempDir();
    const file = join(dir, 'db.sqlite');
    const rw = open(file);
    await rw.execute(q('CREATE TABLE t (id INTEGER PRIMARY KEY)'), opts());
    await rw.execute(q('INSERT INTO t VALUES (1), (2), (3)'), opts());
    await rw.close();
    return { dir, file };
  }

  it('refuses writes, file-creating statements and pragma writes, and changes nothing', async () => {
    const { dir, file } = await seeded();
    const ro = open(file, true);
    expect(await count(ro, 't')).toBe(3);
    const before = readdirSync(dir).sort();
    const refused = [
      `ATTACH DATABASE '${join(dir, 'evil.sqlite')}' AS evil`,
      `VACUUM INTO '${join(dir, 'copy.sqlite')}'`,
      'PRAGMA query_only=OFF',
      'PRAGMA query_only(0)',
      'SELECT 1; DELETE FROM t',
      'WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x',
      'INSERT INTO t VALUES (4)',
      'DELETE FROM t',
      'DROP TABLE t',
      "SELECT load_extension('/tmp/x')",
    ];
    for (const sql of refused) {
      const err = await failure(ro.execute(q(sql), opts()), 'READ_ONLY_VIOLATION');
      expect(err.message, sql).toMatch(/read-only/);
    }
    const inTx = await failure(ro.transaction([q('SELECT 1'), q('DELETE FROM t')], opts()), 'READ_ONLY_VIOLATION');
    expect(inTx.details.statement_index).toBe(1);
    expect(await count(ro, 't')).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(existsSync(join(dir, 'copy.sqlite'))).toBe(false);
  });

  it('allows reads, EXPLAIN and introspection pragmas', async () => {
    const { file } = await seeded();
    const ro = open(file, true);
    expect((await ro.execute(q('PRAGMA query_only'), opts())).rows).toEqual([{ query_only: 1 }]);
    const cols = await ro.execute(q('PRAGMA table_info(t)'), opts());
    expect(cols.rows.map((r) => r.name)).toEqual(['id']);
    const plan = await ro.execute(q('EXPLAIN QUERY PLAN SELECT * FROM t WHERE id = 1'), opts());
    expect(plan.rows.length).toBeGreaterThan(0);
    const [r] = await ro.transaction([q('SELECT count(*) AS n FROM t')], opts());
    expect(r.rows).toEqual([{ n: 3 }]);
  });
});
