/**
 * A native MariaDB backup of a whole database carries its stored routines, events,
 * triggers and views (Sakila: 3 functions, 3 procedures, 6 triggers, 7 views), and
 * fails with PERMISSION_DENIED, instead of leaving a routine out, when the account may
 * not read a routine's definition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, freshDatabase, tempDir } from '../support/backends.js';
import { haveDatasets, loadSakila } from '../support/datasets.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const run = haveDatasets && BACKENDS.some((b) => b.name === 'mysql');
const mysqlBackend = BACKENDS.find((b) => b.name === 'mysql')!;

describe.runIf(run)('native MariaDB backup of Sakila', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;

  const objects = async (connection: string): Promise<Json> => {
    const r = await callTool(h.client, 'execute_query', {
      connection,
      query: `SELECT
        (SELECT GROUP_CONCAT(CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME, ' ', MD5(ROUTINE_DEFINITION)) ORDER BY ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()) AS routines,
        (SELECT GROUP_CONCAT(CONCAT(TRIGGER_NAME, ' ', MD5(ACTION_STATEMENT)) ORDER BY TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()) AS triggers_,
        (SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()) AS views,
        (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()) AS n_routines,
        (SELECT SUM(TABLE_ROWS IS NOT NULL) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE') AS n_tables,
        (SELECT COUNT(*) FROM rental) AS rentals, (SELECT COUNT(*) FROM payment) AS payments`,
    });
    if (!r.ok) throw new Error(r.error.message);
    const data = r.data as Json;
    const rows = data.rows as unknown[];
    const first = rows[0] as Json | unknown[];
    return Array.isArray(first) ? Object.fromEntries((data.columns as Json[]).map((c, i) => [c.name, first[i]])) : first;
  };

  beforeAll(async () => {
    src = await freshDatabase(mysqlBackend, 'sakila_src');
    dst = await freshDatabase(mysqlBackend, 'sakila_dst');
    loadSakila(new URL(src.url).pathname.slice(1));
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: tempDir('cmx-sakila-bk-') });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('restores every routine, trigger and view, and every row', async () => {
    const before = await objects('src');
    expect(Number(before.n_routines)).toBe(6);
    const b = await callTool(h.client, 'create_backup', { database: 'src', format: 'native' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: (b.data as Json).backup });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    expect(await objects('dst')).toEqual(before);
  }, 120_000);

  it('refuses with PERMISSION_DENIED when the account cannot read a routine, leaving no file', async () => {
    const mysql = await import('mysql2/promise');
    const root = await mysql.createConnection(MYSQL_URL);
    const db = new URL(src.url).pathname.slice(1);
    const user = `cmx_norout_${process.pid}`;
    try {
      await root.query(`CREATE OR REPLACE USER '${user}'@'%' IDENTIFIED BY 'pw-1'`);
      await root.query(`GRANT ALL ON \`${db}\`.* TO '${user}'@'%'`);
      const url = src.url.replace(/\/\/[^@/]*@/, `//${user}:pw-1@`);
      const dir = tempDir('cmx-sakila-bk2-');
      const h2 = await startInProcess({ low: { url } }, { backup_dir: dir });
      try {
        const b = await callTool(h2.client, 'create_backup', { database: 'low', format: 'native' });
        expect(b.ok ? 'ok' : b.error.code).toBe('PERMISSION_DENIED');
        const listed = await callTool(h2.client, 'list_backups', {});
        expect(JSON.stringify(listed.ok ? listed.data : listed.error)).not.toMatch(/\.sql\.gz/);
      } finally {
        await h2.close();
      }
    } finally {
      await root.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await root.end();
    }
  }, 120_000);
});
