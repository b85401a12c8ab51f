/**
 * The walls around SQLite reads run in the server's own process (fast-read.ts and
 * native/sqlite-budget.c): what could hold the event loop in one opcode or one prepare, read
 * this connection's own state instead of the host's, or read another file than the host's,
 * is declined there and answered by the host. A declined read is seen as such by stopping
 * the host (SIGSTOP): only the server's own process can then answer, so a declined read
 * times out, an accepted one answers.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DbError } from '../../src/errors.js';
import type { ExecOptions } from '../../src/core/dialect.js';
import { longestStall, q, sqliteFiles, widened, withHostStopped } from '../support/sqlite-files.js';

const { newFile, open } = sqliteFiles('cmx-walls-');
const opts = (over: Partial<ExecOptions> = {}): ExecOptions => ({ maxRows: 1000, maxBytes: 4_000_000, timeoutMs: 5000, ...over });

describe('sqlite reads in the server process: what they decline', () => {
  it('functions that cost more than linear time, values over 16 KiB, connection state, WITH, subqueries, many parameters: the host answers, as it would have', () => widened(async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, big TEXT, j TEXT)"), opts());
    await d.execute(q("INSERT INTO t VALUES (1, 'alpha beta', printf('%.*c', 20000, 'x'), '{\"a\":1,\"b\":[1,2]}')"), opts());
    const declined: Array<[string, unknown[]]> = [
      ["SELECT instr(s, 'beta') AS i FROM t", []],
      ["SELECT replace(s, 'a', 'b') AS r FROM t", []],
      ["SELECT trim(s, 'a') AS r FROM t", []],
      ["SELECT json_patch(j, '{\"c\":2}') AS p FROM t", []],
      // like and glob: at most four in a statement, with patterns of at most 64 bytes.
      [`SELECT id FROM t WHERE ${Array(5).fill("s LIKE '%a%'").join(' AND ')}`, []],
      ['SELECT id FROM t WHERE s LIKE ?', [`%${'a'.repeat(70)}%`]],
      ['SELECT length(big) AS n FROM t', []],
      ['SELECT changes() AS n, last_insert_rowid() AS id', []],
      ['SELECT timeout FROM pragma_busy_timeout', []],
      ["SELECT * FROM pragma_table_info('t')", []],
      ['PRAGMA foreign_keys', []],
      ['SELECT name FROM temp.sqlite_schema', []],
      ["SELECT sqlite_log(1, 'x') AS l", []],
      ['WITH x AS (SELECT 1 AS one) SELECT one FROM x', []],
      ['SELECT id FROM (SELECT id FROM t)', []],
      ['SELECT id FROM t WHERE id IN (VALUES (1))', []],
      [`SELECT id FROM t WHERE id IN (${Array(65).fill('?').join(', ')})`, Array(65).fill(1)],
      ['SELECT id FROM t WHERE s = ? OR s = ? OR s = ? OR s = ? OR s = ?', Array(5).fill('y'.repeat(15_000))],
    ];
    for (const [text, params] of declined) {
      const answer = await d.execute(q(text, params), opts()).catch((e: DbError) => e);
      expect(answer, text).toBeDefined();
      const stopped = await withHostStopped(d, text, { params });
      expect(stopped, text).toBe('TIMEOUT');
    }
    // The same table's other reads are answered in this process, like and glob among them.
    const here = await withHostStopped(d, "SELECT id, s, length(s) AS n, upper(s) AS u, j ->> '$.b[1]' AS b, json_extract(j, '$.a', '$.b[0]') AS e FROM t WHERE s LIKE '%beta' AND s GLOB 'alpha*' AND id IN (?, ?)", { params: [1, 2] });
    expect(here).toMatchObject({ rows: [{ id: 1, s: 'alpha beta', n: 10, u: 'ALPHA BETA', b: 2, e: '[1,1]' }] });
  }), 60_000);

  it('views, virtual tables and tables with generated columns are read in the host; other tables here', () => widened(async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q('CREATE TABLE t (x)'), opts());
    await d.execute(q('INSERT INTO t VALUES (1)'), opts());
    await d.execute(q('CREATE VIEW v0 AS SELECT x FROM t'), opts());
    await d.execute(q("CREATE TABLE g (s TEXT, m INTEGER AS (s LIKE '%a%') VIRTUAL)"), opts());
    await d.execute(q("INSERT INTO g (s) VALUES ('abc')"), opts());
    await d.execute(q("CREATE VIRTUAL TABLE ft USING fts4(content='t', x)"), opts());
    // A name with `$` is a word like any other.
    await d.execute(q('CREATE VIEW a$0 AS SELECT x FROM t'), opts());
    for (const text of ['SELECT count(*) AS n FROM v0', 'SELECT count(*) AS n FROM "V0"', 'SELECT m FROM g', 'SELECT count(*) AS n FROM ft', 'SELECT count(*) AS n FROM a$0', 'SELECT count(*) AS n FROM main.a$0']) {
      expect(await withHostStopped(d, text), text).toBe('TIMEOUT');
      expect((await d.execute(q(text), opts())).rows.length, text).toBe(1);
    }
    expect(await withHostStopped(d, 'SELECT count(*) AS n FROM t')).toMatchObject({ rows: [{ n: 1 }] });
    // A name the text check cannot find in every spelling: no read of this schema runs here.
    await d.execute(q('CREATE VIEW "odd ""name""" AS SELECT x FROM t'), opts());
    expect(await withHostStopped(d, 'SELECT count(*) AS n FROM t')).toBe('TIMEOUT');
    expect((await d.execute(q('SELECT count(*) AS n FROM "odd ""name"""'), opts())).rows).toEqual([{ n: 1 }]);
  }), 60_000);

  it('a WITH chain or a view tree that takes long to prepare holds the event loop for no more than a few budgets', async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q('CREATE TABLE t (x)'), opts());
    await d.execute(q('CREATE VIEW w0 AS SELECT x FROM t'), opts());
    for (let k = 1; k <= 15; k++) await d.execute(q(`CREATE VIEW w${k} AS SELECT x FROM w${k - 1} UNION ALL SELECT x FROM w${k - 1}`), opts());
    let cte = 'WITH c0 AS (SELECT x FROM t)';
    for (let k = 1; k <= 15; k++) cte += `, c${k} AS (SELECT x FROM c${k - 1} UNION ALL SELECT x FROM c${k - 1})`;
    await d.execute(q('SELECT 1'), opts());
    for (const text of [`${cte} SELECT count(*) FROM c15`, 'SELECT count(*) FROM w15', 'SELECT count(*) FROM (SELECT * FROM w15)']) {
      const stall = await longestStall(() => d.execute(q(text), opts({ timeoutMs: 3000 })));
      // The host takes 0.3-0.6 s for each; in this process it would hold every other call as long.
      expect(stall, text).toBeLessThan(150);
    }
  }, 60_000);

  it('a schema too large to read within the budget leaves reads to the host, the event loop free', async () => {
    const file = newFile();
    const made = new Database(file);
    made.exec('BEGIN');
    for (let i = 0; i < 8_000; i++) made.exec(`CREATE TABLE t${i} (id INTEGER PRIMARY KEY, a TEXT, b REAL, c BLOB)`);
    made.exec('COMMIT');
    made.close();
    const d = open(file);
    await d.execute(q('SELECT 1'), opts());
    const stall = await longestStall(async () => {
      for (let i = 0; i < 5; i++) await d.execute(q('SELECT count(*) FROM t1'), opts());
    });
    expect(stall).toBeLessThan(150);
    expect((await d.execute(q('SELECT count(*) AS n FROM t7999'), opts())).rows).toEqual([{ n: 0 }]);
  }, 120_000);

  it('a file put at the path after the host opened its own is never read here', async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await d.execute(q('INSERT INTO t VALUES (1)'), opts());
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
    // Another database renamed over the path: the host keeps the file it opened.
    const other = join(file, '..', 'other.sqlite');
    const o = new Database(other);
    o.exec('CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2), (3)');
    o.close();
    renameSync(other, file);
    // A schema change on the host's file makes the reader open again, by path.
    await d.execute(q('CREATE TABLE u (x)'), opts());
    for (let i = 0; i < 3; i++) expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
  }, 30_000);

  it('the budget outlives a pause between prepare and first step: a deadline passed before the statement starts still stops it', () => {
    // SQLite clears the interrupt flag when a statement starts while none runs: the watchdog
    // interrupts again every millisecond until disarmed, so a pause there (the agent's
    // parameters being bound, a collection) does not leave the read without a budget.
    const db = new Database(newFile());
    try {
      db.loadExtension(join(process.cwd(), 'dist/sqlite-budget.so'));
      const key = Buffer.alloc(16, 7);
      const arm = db.prepare('SELECT cmx_budget(?, ?)');
      arm.run(key, 0);
      const long = db.prepare('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT count(*) FROM c');
      arm.run(key, 2);
      const until = performance.now() + 10;
      while (performance.now() < until) { /* past the deadline before the first step */ }
      const t0 = performance.now();
      expect(() => long.get()).toThrow(/interrupted/);
      expect(performance.now() - t0).toBeLessThan(200);
    } finally {
      db.close();
    }
  });
});
