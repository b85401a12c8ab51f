/**
 * The reviewer as attacker: names and paths, crafted backup files (a header edited and the
 * manifest's checksums recomputed, as anyone who can write backup_dir can do), restores into
 * a database that already has things, and a read-only connection. What must hold: nothing
 * outside the backup's own tables is touched, errors carry stable codes, and nothing is left
 * half-restored.
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, editHeader } from '../support/backup-file.js';
import { MY, PG, callTool, mariadb, outcome, pair, psql, type Json, type RoundTrip } from './harness.js';

describe('names and paths', () => {
  let rt: RoundTrip;
  beforeAll(async () => { rt = await pair(PG, PG, 'apn'); psql(rt.src.url, 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);'); }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it.each(['../escape.cmx.gz', '/tmp/escape.cmx.gz', 'a/b.cmx.gz', '.hidden', 'x.manifest.json', 'nul\u0000.gz', ' lead', 'bidi\u202e.gz', 'zw\u200b.gz'])('create_backup refuses output_path %j with INVALID_INPUT', async (name) => {
    const r = await callTool(rt.h.client, 'create_backup', { connection: 'src', output_path: name });
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
  });
  it('restore_backup refuses a symlink in backup_dir (INVALID_INPUT) and a traversal', async () => {
    symlinkSync('/etc/passwd', join(rt.dir, 'link.cmx.gz'));
    const a = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: 'link.cmx.gz' });
    const b = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: '../../etc/passwd' });
    expect([a.ok ? 'ok' : a.error.code, b.ok ? 'ok' : b.error.code]).toEqual(['INVALID_INPUT', 'INVALID_INPUT']);
  });
});

describe('crafted PostgreSQL portable backups', () => {
  let rt: RoundTrip;
  let named: string;
  let whole: string;
  const victimAlive = (): string => psql(rt.dst.url, "SELECT CASE WHEN to_regclass('public.victim') IS NULL THEN 'dropped' ELSE '1' END");
  beforeAll(async () => {
    rt = await pair(PG, PG, 'apc');
    psql(rt.src.url, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, \'a\');');
    psql(rt.dst.url, 'CREATE TABLE victim (id int); INSERT INTO victim VALUES (42);');
    named = String((await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['t'] }) as Json).data.backup);
    whole = String((await callTool(rt.h.client, 'create_backup', { connection: 'src', output_path: 'whole.cmx.gz' }) as Json).data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('a table name that breaks quoting creates that odd table or is refused; victim untouched', async () => {
    const evil = 't"; DROP TABLE victim; --';
    const f = craft(rt.dir, named, 'evil-name.cmx.gz', editHeader((h) => { h.tables[0].name = evil; h.tables[0].definition.table = evil; }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    expect(victimAlive()).toBe('1\n');
    if (r.ok) expect(psql(rt.dst.url, `SELECT count(*) FROM "${evil.replaceAll('"', '""')}"`)).toBe('1\n');
  });
  it('SQL in a column default or check expression of the portable definition is not run as a statement; victim untouched', async () => {
    const f = craft(rt.dir, named, 'evil-default.cmx.gz', editHeader((h) => {
      h.tables[0].definition.columns[1].default = "x'); DROP TABLE victim; --";
      h.tables[0].definition.checks = [{ name: 'c', expression: 'true); DROP TABLE victim; --' }];
    }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f, allow_lossy: true });
    expect(victimAlive()).toBe('1\n');
    expect(r.ok ? 'ok' : r.error.code).not.toBe('INTERNAL');
  });
  it('native_ddl of a crafted whole-database backup is checked against the tables it claims, not run blindly (victim untouched)', async () => {
    const f = craft(rt.dir, whole, 'evil-ddl.cmx.gz', editHeader((h) => { h.native_ddl.before_data = `DROP TABLE public.victim;\n${h.native_ddl.before_data}`; }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    expect(`${outcome(r)} victim rows: ${victimAlive().trim()}`).toMatch(/victim rows: 1$/);
  });
  it('a row with a literal TAB inside a JSON string (invalid JSON) is refused, not split into two COPY columns', async () => {
    const f = craft(rt.dir, named, 'evil-tab.cmx.gz', (lines) => lines.map((l) => (l.startsWith('[') ? '[2,"x\ty"]' : l)));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f, mode: 'replace' });
    if (r.ok) console.log('tab row loaded as', psql(rt.dst.url, 'SELECT id, v FROM t'));
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
  });
  it('a row with one value short for a two-column table is refused as corrupt, not loaded', async () => {
    const f = craft(rt.dir, named, 'evil-short.cmx.gz', (lines) => lines.map((l) => (l.startsWith('[') ? '["3\\tz"]' : l)));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f, mode: 'replace' });
    if (r.ok) console.log('short row loaded as', psql(rt.dst.url, 'SELECT id, v FROM t'));
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
  });
});

describe('crafted MySQL portable backups', () => {
  let rt: RoundTrip;
  let named: string;
  beforeAll(async () => {
    rt = await pair(MY, MY, 'amc');
    mariadb(rt.src.url, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');");
    mariadb(rt.dst.url, 'CREATE TABLE victim (id int); INSERT INTO victim VALUES (42);');
    named = String((await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['t'] }) as Json).data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it("a table's ddl that is not a CREATE TABLE of that table is refused before it runs (victim untouched)", async () => {
    const f = craft(rt.dir, named, 'evil-ddl.cmx.gz', editHeader((h) => { h.tables[0].ddl = 'DROP TABLE victim'; }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    expect(`${outcome(r)} victim rows: ${mariadb(rt.dst.url, "SELECT IF(count(*) = 0, 'dropped', 1) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'victim'").trim()}`).toMatch(/victim rows: 1$/);
  });
  it("an object's sql in a named-table backup is not run blindly (victim untouched)", async () => {
    const f = craft(rt.dir, named, 'evil-obj.cmx.gz', editHeader((h) => { h.objects = [{ kind: 'trigger', name: 'x', table: 't', sql: 'DROP TABLE victim' }]; }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    expect(`${outcome(r)} victim rows: ${mariadb(rt.dst.url, "SELECT IF(count(*) = 0, 'dropped', 1) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'victim'").trim()}`).toMatch(/victim rows: 1$/);
  });
});

describe('restores into a database that has things in it', () => {
  let rt: RoundTrip;
  let whole: string;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'ane');
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('PostgreSQL replace under a dependent view: a clear error with a stable code, the old table and view intact', async () => {
    psql(rt.src.url, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, \'new\');');
    psql(rt.dst.url, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (7, \'old\'); CREATE VIEW tv AS SELECT * FROM t;');
    whole = String((await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['t'] }) as Json).data.backup);
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: whole, mode: 'replace' });
    const state = psql(rt.dst.url, 'SELECT string_agg(v, \',\') FROM tv');
    if (!r.ok) expect([r.error.code, state]).toEqual([expect.stringMatching(/^(DEPENDENT_OBJECTS|CONSTRAINT_VIOLATION|INVALID_INPUT|UNSUPPORTED)$/), 'old\n']);
    else expect(state).toBe('new\n');
  });
});
