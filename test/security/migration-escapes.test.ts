/**
 * Migrations written by create_migration are agent SQL: the escapes refused on every
 * connection (§6) are refused there too, when the file is written and again when it
 * would run (a file carrying create_migration's first line); files an operator wrote
 * stay trusted. Effects are read from the file system and the catalogs.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MARKER } from '../../src/core/migrations/files.js';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const ESCAPES: Record<TestBackend['name'], (out: string) => string[]> = {
  postgres: (out) => [`COPY (SELECT 1) TO PROGRAM 'touch ${out}/pg'`, 'CREATE ROLE cmx_mig_evil SUPERUSER', "CREATE TABLE f AS SELECT ('/etc/hostname'::text).pg_read_file AS x"],
  mysql: (out) => [`SELECT 'x' INTO OUTFILE '${out}/my'`, "CREATE USER 'cmx_mig_evil'@'%' IDENTIFIED BY 'x'", "GRANT ALL ON *.* TO 'root'@'localhost'"],
  sqlite: (out) => [`VACUUM INTO '${out}/lite.db'`, `\uFEFFATTACH '${out}/att.db' AS x`],
};

describe.each(BACKENDS)('agent-written migrations on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-migesc-');
  const out = tempDir('cmx-migesc-out-');

  beforeAll(async () => {
    db = await freshDatabase(backend, 'migesc');
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
  });
  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('create_migration refuses an escape in up or down and writes nothing', async () => {
    for (const sql of ESCAPES[backend.name](out)) {
      for (const sections of [{ up: sql }, { up: 'SELECT 1', down: sql }]) {
        const r = await callTool(h.client, 'create_migration', { connection: 'db', name: 'evil', ...sections });
        expect(r.ok ? 'ok' : r.error.code, sql).toBe('PERMISSION_DENIED');
      }
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('run_migration refuses a file with create_migration\'s first line that holds an escape, before anything runs', async () => {
    const [sql] = ESCAPES[backend.name](out);
    writeFileSync(join(dir, '1_evil.sql'), `${AGENT_MARKER}\n-- migrate:up\nCREATE TABLE ok_first (id int);\n${sql};\n`);
    for (const args of [{ dry_run: true }, {}]) {
      const r = await callTool(h.client, 'run_migration', { connection: 'db', ...args });
      expect(r.ok ? 'ok' : r.error.code).toBe('PERMISSION_DENIED');
    }
    expect(readdirSync(out)).toEqual([]);
    const t = await callTool(h.client, 'get_schema', { connection: 'db' });
    expect(JSON.stringify(t.ok ? t.data : t.error)).not.toContain('ok_first');
  });

  it('create_migration still writes ordinary DDL, and it runs', async () => {
    const r = await callTool(h.client, 'create_migration', { connection: 'db', name: 'people', up: 'CREATE TABLE people (id int PRIMARY KEY)', down: 'DROP TABLE people' });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    expect(existsSync(join(dir, String(r.ok ? r.data.file : '')))).toBe(true);
  });
});
