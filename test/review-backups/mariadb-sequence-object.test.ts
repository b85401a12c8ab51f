/**
 * A forged MariaDB backup's `objects` entry of kind sequence is checked only for being one
 * CREATE SEQUENCE of its name (check-ddl.ts created()): a table's DATA/INDEX DIRECTORY and
 * OR REPLACE are refused for tables, not for a sequence, which on MariaDB is a table.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { craft, editHeader } from '../support/backup-file.js';
import { callTool, type Harness } from '../support/mcp.js';
import { mariadb, type Json } from '../review15/harness.js';
import { mustCall, reviewDatabase, server } from './harness.js';

let h: Harness; let dir: string; let backup: string;
let src: { url: string; drop(): Promise<void> }; let dst: { url: string; drop(): Promise<void> };
const outside = `/tmp/cmx-rv-forged-${process.pid}`;
beforeAll(async () => {
  src = await reviewDatabase('mysql', 'seqs'); dst = await reviewDatabase('mysql', 'seqd');
  ({ h, dir } = await server({ src: src.url, dst: dst.url }));
  mariadb(src.url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)); INSERT INTO t VALUES (1,'a'); CREATE SEQUENCE sq START WITH 10; CREATE FUNCTION f(x int) RETURNS int DETERMINISTIC RETURN x + 1; CREATE VIEW v AS SELECT 1 AS x;");
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { try { mariadb(dst.url, 'DROP FUNCTION IF EXISTS sphinx_snippets'); } catch { /* none */ } await h?.close(); await src?.drop(); await dst?.drop(); rmSync(outside, { recursive: true, force: true }); });

const clean = () => mariadb(dst.url, 'DROP VIEW IF EXISTS v; DROP FUNCTION IF EXISTS f; DROP SEQUENCE IF EXISTS sq; DROP TABLE IF EXISTS t, keepme; DROP SEQUENCE IF EXISTS keepme; DROP VIEW IF EXISTS mine;');
const seq = (f: (o: Json) => void) => editHeader((hd) => { for (const o of hd.objects as Json[]) if (o.kind === 'sequence') f(o); });

it('a sequence with DATA/INDEX DIRECTORY: refused, no file written outside the data directory', async () => {
  const f = craft(dir, backup, 'cmx-rv-seq-dir.cmx.gz', seq((o) => { o.sql = `CREATE SEQUENCE \`sq\` start with 10 ENGINE=InnoDB DATA DIRECTORY='${outside}'`; }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  console.error('RV6', JSON.stringify(r.ok ? r.data : r.error));
  const files = existsSync(outside) ? readdirSync(outside, { recursive: true }).map(String) : [];
  clean();
  expect({ r: r.ok ? 'ok' : r.error.code, files }).toEqual({ r: 'BACKUP_CORRUPT', files: [] });
});

it('mode create: CREATE OR REPLACE SEQUENCE of a name the target has as a table: refused, the table kept', async () => {
  clean();
  mariadb(dst.url, "CREATE TABLE keepme (id int PRIMARY KEY, v varchar(20)); INSERT INTO keepme VALUES (1,'precious');");
  const f = craft(dir, backup, 'cmx-rv-seq-replace.cmx.gz', seq((o) => { o.name = 'keepme'; o.sql = 'CREATE OR REPLACE SEQUENCE `keepme` start with 10'; o.then = (o.then as string[] | undefined)?.map((s) => s.replace('`sq`', '`keepme`')); }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  console.error('RV6', r.ok ? 'ok' : `${r.error.code} ${r.error.message}`);
  const kept = mariadb(dst.url, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'keepme'").trim();
  expect({ r: r.ok ? 'ok' : r.error.code, kept }).toEqual({ r: expect.not.stringMatching(/^ok$/), kept: 'BASE TABLE' });
});

const obj = (kind: string, f: (o: Json) => void) => editHeader((hd) => { for (const o of hd.objects as Json[]) if (o.kind === kind) f(o); });

it('a function object that loads a shared library as a server-wide UDF (mysql.func): refused', async () => {
  clean();
  const f = craft(dir, backup, 'cmx-rv-udf.cmx.gz', obj('function', (o) => { o.name = 'sphinx_snippets'; o.sql = "CREATE FUNCTION sphinx_snippets RETURNS STRING SONAME 'ha_sphinx.so'"; }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const udf = mariadb(dst.url, "SELECT concat(name, ' ', dl) FROM mysql.func").trim();
  expect({ r: r.ok ? 'ok' : r.error.code, udf }).toEqual({ r: 'BACKUP_CORRUPT', udf: '' });
});

it('mode create: CREATE OR REPLACE VIEW over the target\'s own view of that name: refused, the view kept', async () => {
  clean();
  mariadb(dst.url, "CREATE VIEW v AS SELECT 'mine' AS x;");
  const f = craft(dir, backup, 'cmx-rv-view-replace.cmx.gz', obj('view', (o) => { o.sql = o.sql.replace(/^CREATE /, 'CREATE OR REPLACE '); }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const x = mariadb(dst.url, 'SELECT x FROM v').trim();
  expect({ r: r.ok ? 'ok' : r.error.code, x }).toEqual({ r: 'BACKUP_CORRUPT', x: 'mine' });
});

it('mode create, a forged OR REPLACE SEQUENCE named after the target\'s table (it replaced the table, and a later failure dropped it): refused, the table kept', async () => {
  clean();
  mariadb(dst.url, "CREATE TABLE keepme (id int PRIMARY KEY, v varchar(20)); INSERT INTO keepme VALUES (1,'precious'); CREATE FUNCTION f(x int) RETURNS int DETERMINISTIC RETURN 0;");
  const f = craft(dir, backup, 'cmx-rv-seq-replace2.cmx.gz', seq((o) => { o.name = 'keepme'; o.sql = 'CREATE OR REPLACE SEQUENCE `keepme` start with 10'; o.then = (o.then as string[] | undefined)?.map((s) => s.replace('`sq`', '`keepme`')); }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const kept = mariadb(dst.url, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'keepme'").trim();
  expect({ r: r.ok ? 'ok' : r.error.code, kept }).toEqual({ r: 'BACKUP_CORRUPT', kept: 'BASE TABLE' });
});

it('an untouched backup into a database with a function of the same name: DUPLICATE_OBJECT, not INTERNAL, and nothing made', async () => {
  clean();
  mariadb(dst.url, 'CREATE FUNCTION f(x int) RETURNS int DETERMINISTIC RETURN 0;');
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: backup });
  const left = mariadb(dst.url, 'SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()').trim();
  expect({ r: r.ok ? 'ok' : r.error.code, left }).toEqual({ r: 'DUPLICATE_OBJECT', left: '0' });
});
