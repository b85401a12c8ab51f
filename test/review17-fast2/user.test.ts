/**
 * Review 2 of the fast path (6eb0aa5), the user's side: which common reads run in the server
 * (answered with the host stopped) and which pay the host's round trip. And what holds against
 * an agent: the budget function, ATTACH, another process writing in rollback-journal mode.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newFile, open, opts, q, withHostStopped } from '../review17-fast/helpers.js';

function schema(file: string, journal = 'WAL'): void {
  const w = new Database(file);
  w.pragma(`journal_mode = ${journal}`);
  w.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, j TEXT);
    INSERT INTO t WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM g WHERE i < 200) SELECT i, i % 7, ' n' || i || ' ', json_object('name', 'x' || i) FROM g;`);
  w.close();
}

async function inProcess(d: ReturnType<typeof open>, text: string): Promise<boolean> {
  const prev = process.env.CODOMYRMEX_SQLITE_BUDGET_MS;
  process.env.CODOMYRMEX_SQLITE_BUDGET_MS = '200';
  try {
    return typeof (await withHostStopped(d, text, 1500)) !== 'string';
  } finally {
    if (prev === undefined) delete process.env.CODOMYRMEX_SQLITE_BUDGET_MS; else process.env.CODOMYRMEX_SQLITE_BUDGET_MS = prev;
  }
}

describe('review17-2: the user side', () => {
  it('U1 (after the fix) common, cheap reads run in the server: LIKE prefix, GLOB, json_extract, a string that holds "changes"; trim, replace, instr and the word "with" still go to the host', async () => {
    const file = newFile();
    schema(file);
    const d = open(file);
    const texts = [
      "SELECT id FROM t WHERE b LIKE ' n1%' ORDER BY id LIMIT 3",
      "SELECT id FROM t WHERE b GLOB ' n1*' ORDER BY id LIMIT 3",
      "SELECT json_extract(j, '$.name') AS n FROM t WHERE id = 1",
      'SELECT trim(b) AS n FROM t WHERE id = 1',
      "SELECT replace(b, 'n', 'm') AS n FROM t WHERE id = 1",
      "SELECT instr(b, '1') AS n FROM t WHERE id = 11",
      "SELECT id FROM t WHERE b = 'with' LIMIT 1",
      "SELECT id FROM t WHERE b = 'no changes' LIMIT 1",
    ];
    const host: string[] = [];
    for (const t of texts) if (!(await inProcess(d, t))) host.push(t);
    console.log('U1 sent to the host:', host);
    // trim/replace/instr cost more than linear time in their second argument (the extension
    // cannot see how many arguments a call has); WITH is matched as a word anywhere.
    expect(host).toEqual([texts[3], texts[4], texts[5], texts[6]]);
  }, 120_000);

  it('U2 holds: plain SELECT/WHERE/ORDER BY/LIMIT, JOIN, aggregates, ->>, window functions run in the server (a subquery goes to the host since the fix of A1)', async () => {
    const file = newFile();
    schema(file);
    const d = open(file);
    for (const t of [
      'SELECT * FROM t WHERE a = 3 ORDER BY id DESC LIMIT 5',
      'SELECT x.id, y.b FROM t x JOIN t y ON y.id = x.a WHERE x.id < 20 ORDER BY x.id',
      'SELECT a, count(*) AS n, avg(id) AS m FROM t GROUP BY a HAVING n > 1 ORDER BY a',
      "SELECT j ->> '$.name' AS n, j -> 'name' AS m FROM t WHERE id = 1",
      'SELECT id, rank() OVER (PARTITION BY a ORDER BY id) AS r FROM t LIMIT 5',
      'SELECT upper(b), lower(b), substr(b, 2), length(b), coalesce(NULL, 1), abs(-1), round(1.5) FROM t WHERE id = 1',
    ]) expect(await inProcess(d, t), t).toBe(true);
  }, 120_000);

  it('H1 holds: the budget function, ATTACH and other schemas are out of reach; answers are the host\'s', async () => {
    const file = newFile();
    schema(file);
    const d = open(file);
    for (const t of [
      'SELECT cmx_budget(zeroblob(16), 0)',
      "SELECT cmx_budget(x'00000000000000000000000000000000', 1000)",
      "ATTACH '/etc/passwd' AS p",
    ]) {
      const e = await d.execute(q(t), opts()).then(() => 'ok', (err: Error) => err.message);
      expect(e, t).not.toBe('ok');
    }
    // The connection's own schemas are the host's to answer.
    for (const t of ['SELECT * FROM temp.sqlite_schema', "SELECT * FROM main.pragma_table_info('t')", 'SELECT * FROM dbstat']) {
      expect(await inProcess(d, t), t).toBe(false);
    }
  }, 60_000);

  it('H2 holds: another connection (same process) writing in rollback-journal mode: reads never see a torn state and never stall', async () => {
    const file = newFile();
    schema(file, 'DELETE');
    const d = open(file);
    await d.execute(q('SELECT 1'), opts());
    const w = new Database(file, { timeout: 5000 });
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        // Two rows moved together: a torn read would see a sum other than 0.
        w.exec(`BEGIN IMMEDIATE; UPDATE t SET a = a + 1 WHERE id = 1; UPDATE t SET a = a - 1 WHERE id = 2; COMMIT;`);
        if (++i % 5 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    })();
    const base = Number((await d.execute(q('SELECT a FROM t WHERE id IN (1, 2) /* pragma */'), opts())).rows.reduce((s: number, r) => s + Number((r as { a: bigint }).a), 0));
    for (let i = 0; i < 200; i++) {
      const r = await d.execute(q('SELECT sum(a) AS s FROM t WHERE id IN (1, 2)'), opts());
      expect(Number((r.rows[0] as { s: bigint }).s)).toBe(base);
    }
    stop = true;
    await writer;
    w.close();
  }, 120_000);
});
