/** Column comments from PostgreSQL into MariaDB (7a0f56e): long, multi-byte, emoji; and a table's own comment. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callTool, type Harness } from '../support/mcp.js';
import { mariadb, psql } from '../review15/harness.js';
import { mustCall, reviewDatabase, server } from './harness.js';

let h: Harness; let backup = '';
const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
const emoji1024 = '🐜'.repeat(1024);
const e2000 = 'é'.repeat(2000);
const late = `${'a'.repeat(1030)}🐜`;
const quoted = "it's a \\back\\slash\nnew line -- not a comment */ '' \u0000x".replace('\u0000', '');
const cjk = '漢字'.repeat(600);
beforeAll(async () => {
  dbs.src = await reviewDatabase('postgres', 'cms'); dbs.dst = await reviewDatabase('mysql', 'cmd');
  const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
  psql(dbs.src.url, `CREATE TABLE c (id int PRIMARY KEY, a text, b text, d text, e text, f text);
    COMMENT ON COLUMN c.a IS ${lit(emoji1024)}; COMMENT ON COLUMN c.b IS ${lit(e2000)}; COMMENT ON COLUMN c.d IS ${lit(late)};
    COMMENT ON COLUMN c.e IS ${lit(quoted)}; COMMENT ON COLUMN c.f IS ${lit(cjk)}; COMMENT ON TABLE c IS 'the table''s own comment';
    INSERT INTO c VALUES (1, 'x', 'y', 'z', 'w', 'v');`);
  ({ h } = await server({ src: dbs.src.url, dst: dbs.dst.url }));
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); for (const d of Object.values(dbs)) await d.drop(); });

it('each comment kept as far as MariaDB can, each loss listed, and only those', async () => {
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup, allow_lossy: true });
  if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
  const lossy = (r.data.lossy as Array<{ column?: string; what: string }>).map((l) => `${l.column ?? '-'}: ${l.what}`);
  console.error('RV6', JSON.stringify(lossy, null, 1));
  const got = Object.fromEntries(mariadb(dbs.dst.url, "SELECT COLUMN_NAME, CHAR_LENGTH(COLUMN_COMMENT), HEX(LEFT(COLUMN_COMMENT, 2)) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c' ORDER BY ORDINAL_POSITION").trim().split('\n').map((l) => { const [n, len, hx] = l.split('\t'); return [n, `${len}:${hx}`]; }));
  const e = mariadb(dbs.dst.url, "SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c' AND COLUMN_NAME = 'e'");
  const tableComment = mariadb(dbs.dst.url, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c'").trim();
  console.error('RV6', got, JSON.stringify(e), JSON.stringify(tableComment));
  expect(got.a).toBe('1024:3F3F');
  expect(got.b).toMatch(/^1024:/);
  expect(got.f).toBe('1024:E6BCA2E5AD97');
  expect(lossy.filter((l) => l.startsWith('a:'))).toHaveLength(1);
  expect(lossy.filter((l) => l.startsWith('b:'))).toHaveLength(1);
  expect(lossy.filter((l) => l.startsWith('d:'))).toHaveLength(1); // cut; the emoji past the cut is gone, not '?'
  expect(lossy.filter((l) => l.startsWith('d:')).join()).not.toMatch(/U\+FFFF/);
  expect(lossy.filter((l) => l.startsWith('e:'))).toHaveLength(0);
  expect(tableComment === "the table's own comment" || lossy.some((l) => /comment/i.test(l) && !/^[a-f]:/.test(l))).toBe(true);
});
