/**
 * Issue 14, class 5: session state must not survive to the next call on a pooled
 * MariaDB connection (pool of size 1, so the next call gets the same connection).
 * Every change is made through execute_query on a read-write connection; a change
 * the server refuses (pinned settings) is fine, a change that is still visible to
 * the next call is not. The same connection id proves the pool reused it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, MYSQL_URL } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, unknown>;

/** The one place that reads execute_query rows (issue 16 changes their shape). */
function rowsOf(data: Json): Json[] {
  const rows = data.rows as unknown[];
  const cols = data.columns as Array<string | { name: string }> | undefined;
  if (rows.length && Array.isArray(rows[0]) && cols) return (rows as unknown[][]).map((r) => Object.fromEntries(cols.map((c, i) => [typeof c === 'string' ? c : c.name, r[i]])));
  return rows as Json[];
}

const PROBE = `SELECT CONNECTION_ID() AS cid, DATABASE() AS db, @@sql_mode AS sql_mode, @@time_zone AS tz, @a AS a, @@autocommit AS ac,
  @@tx_isolation AS iso, @@tx_read_only AS ro, @@character_set_client AS csc, @@character_set_results AS csr,
  @@collation_connection AS cc, @@max_statement_time AS mst, @@foreign_key_checks AS fk, @@unique_checks AS uc,
  IS_FREE_LOCK('cmx_sess_lock') AS lk, CURRENT_ROLE() AS role, @@sql_select_limit AS sl, @@group_concat_max_len AS gc,
  @@in_transaction AS it, @@sql_safe_updates AS su, @@div_precision_increment AS dp, @@lc_time_names AS lc,
  @@insert_id AS ii, @@wait_timeout AS wt, @@sql_auto_is_null AS ain, @@big_tables AS bt, @@timestamp < 100000 AS ts_fixed,
  @@optimizer_search_depth AS osd, @@sql_notes AS sn, @@check_constraint_checks AS ccc, LAST_INSERT_ID() AS lii`;

/** Changes made one per call; the statements the classifier refuses are listed too (both outcomes are fine). */
const CHANGES = [
  'USE cmx_sess_other',
  "SET sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'",
  "SET time_zone = '+05:00'",
  'SET @a = 42',
  'SET autocommit = 0',
  'SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE',
  'SET SESSION TRANSACTION READ ONLY',
  'SET NAMES latin1',
  'SET character_set_results = latin1',
  'SET max_statement_time = 0',
  'SET foreign_key_checks = 0',
  'SET unique_checks = 0',
  "SELECT GET_LOCK('cmx_sess_lock', 1)",
  'CREATE TEMPORARY TABLE cmx_sess_tmp (a int)',
  'SET sql_select_limit = 1',
  'SET group_concat_max_len = 7',
  'SET sql_safe_updates = 1',
  'SET div_precision_increment = 9',
  "SET lc_time_names = 'de_DE'",
  'SET insert_id = 77',
  'SET wait_timeout = 99',
  'SET sql_auto_is_null = 1',
  'SET big_tables = 1',
  'SET timestamp = 1000',
  'SET optimizer_search_depth = 3',
  'SET sql_notes = 0',
  'SET check_constraint_checks = 0',
  'SET ROLE cmx_sess_role',
  'SET STATEMENT max_statement_time = 0 FOR SELECT 1',
  'SELECT LAST_INSERT_ID(99)',
  'SELECT 1 INTO @a',
  'HANDLER cmx_sess_t OPEN',
  'LOCK TABLES cmx_sess_t WRITE',
  'START TRANSACTION',
  "/*!SET @a = 43*/",
  '/*M!100000 USE cmx_sess_other */',
  "SET @@session.time_zone = '-03:00'",
];

describe('MySQL session reset: nothing a call changes reaches the next call', () => {
  let h: Harness;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let dbName: string;
  let baseline: Json;
  const root = async () => (await import('mysql2/promise')).default.createConnection(MYSQL_URL);

  beforeAll(async () => {
    db = await freshDatabase({ name: 'mysql', url: () => MYSQL_URL } as never, 'sess');
    dbName = db.url.replace(/^.*\//, '');
    const r = await root();
    await r.query('CREATE DATABASE IF NOT EXISTS cmx_sess_other');
    await r.query('CREATE ROLE IF NOT EXISTS cmx_sess_role');
    await r.query('GRANT cmx_sess_role TO CURRENT_USER');
    await r.query(`CREATE TABLE \`${dbName}\`.cmx_sess_t (a int)`);
    await r.query(`CREATE TABLE \`${dbName}\`.cmx_sess_t2 (a int)`);
    await r.end();
    h = await startInProcess({ rw: { url: db.url, pool_size: 1 } });
    baseline = await probe();
  });

  afterAll(async () => {
    await h?.close();
    const r = await root();
    await r.query('DROP DATABASE IF EXISTS cmx_sess_other');
    await r.query('REVOKE cmx_sess_role FROM CURRENT_USER').catch(() => undefined);
    await r.query('DROP ROLE IF EXISTS cmx_sess_role');
    await r.end();
    await db?.drop();
  });

  async function probe(): Promise<Json> {
    const r = await callTool(h.client, 'execute_query', { connection: 'rw', query: PROBE });
    if (!r.ok) throw new Error(`probe failed: ${r.error.code} ${r.error.message}`);
    return rowsOf(r.data)[0];
  }

  it('the baseline is the pinned session in the URL database', () => {
    expect(baseline.db).toBe(dbName);
    expect(baseline.tz).toBe('+00:00');
    expect(String(baseline.sql_mode)).not.toMatch(/ANSI_QUOTES|NO_BACKSLASH_ESCAPES/);
    expect(baseline.csc).toBe('utf8mb4');
  });

  it(`each of ${CHANGES.length} session changes is gone at the next call on the same connection`, async () => {
    const leaks: string[] = [];
    let applied = 0;
    for (const sql of CHANGES) {
      const r = await callTool(h.client, 'execute_query', { connection: 'rw', query: sql });
      if (r.ok) applied++;
      const now = await probe();
      for (const [k, v] of Object.entries(baseline)) if (k !== 'cid' && JSON.stringify(now[k]) !== JSON.stringify(v)) leaks.push(`${sql}: ${k} ${JSON.stringify(v)} -> ${JSON.stringify(now[k])}`);
      const tmp = await callTool(h.client, 'execute_query', { connection: 'rw', query: 'SELECT * FROM cmx_sess_tmp' });
      if (tmp.ok) leaks.push(`${sql}: the temporary table survived`);
      const handler = await callTool(h.client, 'execute_query', { connection: 'rw', query: 'HANDLER cmx_sess_t READ FIRST' });
      if (handler.ok) leaks.push(`${sql}: the HANDLER stayed open`);
      // Under a surviving LOCK TABLES, a table that was not locked cannot be read.
      const other = await callTool(h.client, 'execute_query', { connection: 'rw', query: 'SELECT count(*) AS n FROM cmx_sess_t2' });
      if (!other.ok) leaks.push(`${sql}: another table is unreadable (${other.error.code}): a table lock survived`);
    }
    console.error(`[security] mysql session: ${CHANGES.length} changes (${applied} accepted), ${leaks.length} leaks`);
    expect(leaks).toEqual([]);
    expect(applied).toBeGreaterThanOrEqual(25);
  });

  it('the pool really reused one connection, and named locks are free for others', async () => {
    const a = await probe();
    const b = await probe();
    expect(a.cid).toBe(b.cid);
    const r = await root();
    const [rows] = await r.query("SELECT IS_FREE_LOCK('cmx_sess_lock') AS f");
    await r.end();
    expect(Number((rows as Json[])[0].f)).toBe(1);
  });
});
