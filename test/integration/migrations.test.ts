/**
 * The MigrationManager on every backend, through a real MCP client: author, run,
 * check, roll back, drift (modified, missing), failures and their guarantees,
 * dry runs, read-only refusal, and the status resource with its notifications.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

type Entry = { version: string; name: string; status: string; failed_statement: number | null };

describe.each(BACKENDS)('migrations on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-mig-');
  const versions: string[] = [];

  const list = async (): Promise<Entry[]> => (await mustCall(h.client, 'list_migrations', { connection: 'db' })).migrations as Entry[];
  const statuses = async (): Promise<string[]> => (await list()).map((m) => `${m.name}:${m.status}`);
  const tableExists = async (table: string): Promise<boolean> => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM ${table}` });
    return r.ok;
  };

  beforeAll(async () => {
    db = await freshDatabase(backend, 'mig');
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir }, ro: { url: db.url, migrations_dir: dir, read_only: true } });
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('authors migration files with increasing versions, never overwriting', async () => {
    for (const [name, up, down] of [
      ['create_people', 'CREATE TABLE people (id integer PRIMARY KEY, name varchar(100) NOT NULL)', 'DROP TABLE people'],
      ['add_people_email', 'ALTER TABLE people ADD COLUMN email varchar(200)', 'ALTER TABLE people DROP COLUMN email'],
      ['create_pets', 'CREATE TABLE pets (id integer PRIMARY KEY);\nINSERT INTO pets (id) VALUES (1);\nINSERT INTO pets (id) VALUES (2)', 'DROP TABLE pets'],
    ]) {
      const r = await mustCall(h.client, 'create_migration', { connection: 'db', name, up, down });
      versions.push(String(r.version));
      expect(readFileSync(String(r.path), 'utf8')).toContain('-- migrate:down');
    }
    expect([...versions].sort()).toEqual(versions);
    expect(new Set(versions).size).toBe(3);
    expect(await statuses()).toEqual(['create_people:pending', 'add_people_email:pending', 'create_pets:pending']);
  });

  it('refuses every write tool on a read-only connection', async () => {
    for (const [tool, args] of [['run_migration', {}], ['rollback_migration', {}], ['create_migration', { name: 'x', up: 'SELECT 1' }]] as const) {
      const r = await callTool(h.client, tool, { connection: 'ro', ...args });
      expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
    }
  });

  it('dry-runs without keeping anything', async () => {
    const r = await mustCall(h.client, 'run_migration', { connection: 'db', dry_run: true });
    expect(r.dry_run).toBe(true);
    expect((r.planned as unknown[]).length).toBe(3);
    expect(r.executed).toBe(backend.name !== 'mysql');
    expect(await tableExists('people')).toBe(false);
    expect(await statuses()).toEqual(['create_people:pending', 'add_people_email:pending', 'create_pets:pending']);
  });

  it('applies all pending migrations in order, then reports them applied', async () => {
    const r = await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect((r.applied as Array<{ name: string }>).map((a) => a.name)).toEqual(['create_people', 'add_people_email', 'create_pets']);
    expect(await statuses()).toEqual(['create_people:applied', 'add_people_email:applied', 'create_pets:applied']);
    const s = await mustCall(h.client, 'get_migration_status', { connection: 'db' });
    expect(s.current_version).toBe(versions[2]);
    expect(s.problems).toEqual([]);
    const again = await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect(again.applied).toEqual([]);
  });

  it('rolls back one step, then back to a version, then re-applies', async () => {
    const one = await mustCall(h.client, 'rollback_migration', { connection: 'db' });
    expect((one.rolled_back as Array<{ name: string }>).map((m) => m.name)).toEqual(['create_pets']);
    expect(await tableExists('pets')).toBe(false);
    const toFirst = await mustCall(h.client, 'rollback_migration', { connection: 'db', migration_id: versions[0] });
    expect((toFirst.rolled_back as Array<{ name: string }>).map((m) => m.name)).toEqual(['add_people_email', 'create_people']);
    expect(await tableExists('people')).toBe(false);
    await mustCall(h.client, 'run_migration', { connection: 'db', target: versions[1] });
    expect(await statuses()).toEqual(['create_people:applied', 'add_people_email:applied', 'create_pets:pending']);
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect(await tableExists('pets')).toBe(true);
  });

  it('sees an edited file as modified and refuses to run until repaired', async () => {
    const file = join(dir, `${versions[1]}_add_people_email.sql`);
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('varchar(200)', 'varchar(250)'));
    expect((await statuses())[1]).toBe('add_people_email:modified');
    await mustCall(h.client, 'create_migration', { connection: 'db', name: 'later', up: 'CREATE TABLE later_t (a integer)', down: 'DROP TABLE later_t' });
    const refused = await callTool(h.client, 'run_migration', { connection: 'db' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('MIGRATION_BLOCKED');
    expect(await tableExists('later_t')).toBe(false);
    // Whitespace and line endings do not count as a change.
    writeFileSync(file, original.replace(/\n/g, '  \r\n'));
    expect((await statuses())[1]).toBe('add_people_email:applied');
    writeFileSync(file, original.replace('varchar(200)', 'varchar(250)'));
    await mustCall(h.client, 'repair_migration', { connection: 'db', migration_id: versions[1], action: 'accept_checksum' });
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect(await tableExists('later_t')).toBe(true);
  });

  it('sees a deleted file as missing and refuses until repaired', async () => {
    const entries = await list();
    const later = entries.find((m) => m.name === 'later') as Entry;
    await mustCall(h.client, 'rollback_migration', { connection: 'db' });
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    rmSync(join(dir, `${later.version}_later.sql`));
    expect((await statuses()).at(-1)).toBe('later:missing');
    await mustCall(h.client, 'create_migration', { connection: 'db', name: 'after_missing', up: 'CREATE TABLE after_t (a integer)', down: 'DROP TABLE after_t' });
    const refused = await callTool(h.client, 'run_migration', { connection: 'db' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('MIGRATION_BLOCKED');
    await mustCall(h.client, 'repair_migration', { connection: 'db', migration_id: later.version, action: 'mark_pending' });
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect(await tableExists('after_t')).toBe(true);
  });

  it('keeps the failure guarantees of the backend when a migration fails', async () => {
    const bad = await mustCall(h.client, 'create_migration', {
      connection: 'db', name: 'half_bad', up: 'CREATE TABLE half_t (a integer);\nCREATE TABLE half_bad (a nosuchtype(',
      down: 'DROP TABLE half_t',
    });
    const r = await callTool(h.client, 'run_migration', { connection: 'db' });
    expect(r.ok ? 'ok' : r.error.code).toBe('MIGRATION_FAILED');
    if (r.ok) return;
    expect(r.error.details.statement_index).toBe(1);
    const entry = (await list()).find((m) => m.version === String(bad.version)) as Entry;
    if (backend.name === 'mysql') {
      // DDL commits implicitly: the first statement stays, and the history says so.
      expect(entry.status).toBe('failed');
      expect(entry.failed_statement).toBe(1);
      expect(await tableExists('half_t')).toBe(true);
      const blocked = await callTool(h.client, 'run_migration', { connection: 'db' });
      expect(blocked.ok ? 'ok' : blocked.error.code).toBe('MIGRATION_BLOCKED');
      await mustCall(h.client, 'execute_query', { connection: 'db', query: 'DROP TABLE half_t' });
      await mustCall(h.client, 'repair_migration', { connection: 'db', migration_id: String(bad.version), action: 'mark_pending' });
    } else {
      // Transactional DDL: the migration left no trace.
      expect(entry.status).toBe('pending');
      expect(await tableExists('half_t')).toBe(false);
    }
    rmSync(join(dir, String(bad.file)));
    const s = await mustCall(h.client, 'get_migration_status', { connection: 'db' });
    expect(s.problems).toEqual([]);
  });

  it('runs trusted bodies: functions, procedures, triggers, no-transaction migrations', async () => {
    const bodies: Record<TestBackend['name'], { up: string; down: string; check: string }> = {
      postgres: {
        up: `CREATE FUNCTION body_f(a integer) RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN a + 1; END; $$;\nSELECT body_f(1);`,
        down: 'DROP FUNCTION body_f(integer);', check: 'SELECT body_f(41) AS v',
      },
      mysql: {
        up: 'DELIMITER //\nCREATE FUNCTION body_f(a INT) RETURNS INT DETERMINISTIC BEGIN DECLARE b INT; SET b = a + 1; RETURN b; END//\nDELIMITER ;\nSELECT body_f(1);',
        down: 'DROP FUNCTION body_f;', check: 'SELECT body_f(41) AS v',
      },
      sqlite: {
        up: 'CREATE TABLE body_t (a integer, b integer);\nCREATE TRIGGER body_tr AFTER INSERT ON body_t BEGIN UPDATE body_t SET b = NEW.a + 1 WHERE a = NEW.a; END;\nINSERT INTO body_t (a) VALUES (41);',
        down: 'DROP TABLE body_t;', check: 'SELECT b AS v FROM body_t',
      },
    };
    const b = bodies[backend.name];
    const created = await mustCall(h.client, 'create_migration', { connection: 'db', name: 'bodies', up: b.up, down: b.down });
    const progress: number[] = [];
    const r = await h.client.callTool({ name: 'run_migration', arguments: { connection: 'db', migration_file: String(created.file) } }, undefined, {
      onprogress: (p) => { progress.push(p.progress); },
    });
    expect(r.isError).toBeFalsy();
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const v = await mustCall(h.client, 'execute_query', { connection: 'db', query: b.check });
    expect(rowsOf(v)).toEqual([{ v: 42 }]);
    if (backend.name === 'postgres') {
      writeFileSync(join(dir, '99999999999999_concurrent_index.sql'), '-- migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY people_name_idx ON people (name);\n-- migrate:down\nDROP INDEX CONCURRENTLY people_name_idx;\n');
      await mustCall(h.client, 'run_migration', { connection: 'db' });
      const idx = await mustCall(h.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'people_name_idx'` });
      expect(rowsOf(idx)).toEqual([{ n: 1 }]);
      await mustCall(h.client, 'rollback_migration', { connection: 'db' });
      rmSync(join(dir, '99999999999999_concurrent_index.sql'));
    }
  });

  it('refuses sections that would break the transaction or hang, before anything runs', async () => {
    for (const up of ['CREATE TABLE esc_a (a integer);\nCOMMIT;\nCREATE TABLE esc_b (a nosuchtype);', 'COPY people FROM STDIN;']) {
      const created = await mustCall(h.client, 'create_migration', { connection: 'db', name: 'escape', up, down: 'SELECT 1;' });
      const r = await callTool(h.client, 'run_migration', { connection: 'db' });
      const expected = backend.name === 'mysql' && up.includes('COMMIT') ? 'MIGRATION_FAILED' : 'INVALID_INPUT';
      expect(r.ok ? 'ok' : r.error.code).toBe(expected);
      if (expected === 'INVALID_INPUT') expect(await tableExists('esc_a')).toBe(false);
      if (backend.name === 'mysql' && up.includes('COMMIT')) {
        await mustCall(h.client, 'execute_query', { connection: 'db', query: 'DROP TABLE IF EXISTS esc_a' });
        await mustCall(h.client, 'repair_migration', { connection: 'db', migration_id: String(created.version), action: 'mark_pending' });
      }
      rmSync(join(dir, String(created.file)));
    }
  });

  it.runIf(backend.name === 'mysql')('reports a migration that leaves its own transaction open as failed, not applied', async () => {
    const created = await mustCall(h.client, 'create_migration', {
      connection: 'db', name: 'left_open', up: `SET autocommit = 0;\nINSERT INTO people (id, name) VALUES (77, 'lost');`, down: 'SELECT 1;',
    });
    const r = await callTool(h.client, 'run_migration', { connection: 'db' });
    expect(r.ok ? 'ok' : `${r.error.code}:${r.error.details.cause_code}`).toBe('MIGRATION_FAILED:TRANSACTION_FAILED');
    const entry = (await list()).find((m) => m.version === String(created.version)) as Entry;
    expect(entry.status).toBe('failed');
    const rows = await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT count(*) AS n FROM people WHERE id = 77' });
    expect(rowsOf(rows)).toEqual([{ n: 0 }]);
    await mustCall(h.client, 'repair_migration', { connection: 'db', migration_id: String(created.version), action: 'mark_pending' });
    rmSync(join(dir, String(created.file)));
  });

  it('gives concurrent create_migration calls distinct versions', async () => {
    const made = await Promise.all([1, 2, 3, 4].map((i) => mustCall(h.client, 'create_migration', { connection: 'db', name: `parallel_${i}`, up: `CREATE TABLE parallel_${i} (a integer)`, down: `DROP TABLE parallel_${i}` })));
    expect(new Set(made.map((m) => m.version)).size).toBe(4);
    const newest = made.map((m) => String(m.version)).sort().at(-1) as string;
    const early = await callTool(h.client, 'run_migration', { connection: 'db', migration_file: newest });
    expect(early.ok ? 'ok' : early.error.code).toBe('MIGRATION_BLOCKED');
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect(await tableExists('parallel_4')).toBe(true);
  });

  it('publishes status as a resource and notifies subscribers after a run', async () => {
    const uri = 'migrations://db/status';
    const listed = await h.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const read = await h.client.readResource({ uri });
    const body = JSON.parse(String((read.contents[0] as { text: string }).text));
    expect(body.connection).toBe('db');
    const updates: string[] = [];
    h.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
    await h.client.subscribeResource({ uri });
    await mustCall(h.client, 'create_migration', { connection: 'db', name: 'notify_me', up: 'CREATE TABLE notify_t (a integer)', down: 'DROP TABLE notify_t' });
    await mustCall(h.client, 'run_migration', { connection: 'db' });
    await new Promise((r) => setTimeout(r, 50));
    expect(updates).toContain(uri);
  });
});
