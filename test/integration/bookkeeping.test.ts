/**
 * The server's own tables (issue 16): where they live (PostgreSQL: schema `codomyrmex`),
 * hidden from listings unless named, a primary key on each, and the server's own move of
 * an older layout, raced by two servers. Effects are read through raw drivers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';
import { raw } from '../faults/kill.js';

type Json = Record<string, any>;
const OURS = ['codomyrmex_migrations', 'codomyrmex_migration_events'];

/** Where each of our tables is: "schema.table" (PostgreSQL) or the table name. */
async function ourTables(backend: TestBackend['name'], url: string): Promise<string[]> {
  const sql = backend === 'postgres'
    ? "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_name LIKE 'codomyrmex%' ORDER BY 1"
    : backend === 'mysql'
      ? "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'codomyrmex%' ORDER BY 1"
      : "SELECT name AS t FROM sqlite_schema WHERE type = 'table' AND name LIKE 'codomyrmex%' ORDER BY 1";
  return (await raw(backend, url, sql)).map((r) => String(r.t)).sort();
}

/** The primary-key columns of one of our tables. */
async function primaryKey(backend: TestBackend['name'], url: string, table: string): Promise<string[]> {
  const sql = backend === 'postgres'
    ? `SELECT a.attname AS c FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'codomyrmex.${table}'::regclass AND i.indisprimary`
    : backend === 'mysql'
      ? `SELECT COLUMN_NAME AS c FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}' AND CONSTRAINT_NAME = 'PRIMARY'`
      : `SELECT name AS c FROM pragma_table_info('${table}') WHERE pk > 0`;
  return (await raw(backend, url, sql)).map((r) => String(r.c));
}

/**
 * Ours as ourTables names them: the history, its events and the lock table (the migration
 * lock's row, issue 17); the older layout (`public`) had no lock table but on SQLite.
 */
function expected(backend: TestBackend['name'], schema = 'codomyrmex'): string[] {
  const tables = schema === 'public' && backend !== 'sqlite' ? OURS : [...OURS, 'codomyrmex_locks'];
  if (backend === 'postgres') return tables.map((t) => `${schema}.${t}`).sort();
  return [...tables].sort();
}

const history = (backend: TestBackend['name'], table: string): string => (backend === 'postgres' ? `codomyrmex.${table}` : table);

function migration(dir: string, version: number, name: string, up: string): void {
  writeFileSync(join(dir, `${version}_${name}.sql`), `-- migrate:up\n${up};\n-- migrate:down\nSELECT 1;\n`);
}

describe.each(BACKENDS)('bookkeeping tables on $name', (backend: TestBackend) => {
  let db: { url: string; drop(): Promise<void> };
  let h: Harness;
  const dir = tempDir('cmx-book-');
  const backups = tempDir('cmx-book-bak-');

  beforeAll(async () => {
    db = await freshDatabase(backend, 'book');
    migration(dir, 1, 'widgets', 'CREATE TABLE widgets (id integer PRIMARY KEY, name varchar(40))');
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir } }, { backup_dir: backups });
    await mustCall(h.client, 'run_migration', { connection: 'db' });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('keeps them in their own place, each with a primary key', async () => {
    const found = await ourTables(backend.name, db.url);
    expect(found).toEqual(expected(backend.name));
    expect(await primaryKey(backend.name, db.url, 'codomyrmex_locks')).toEqual(['name']);
    expect(await primaryKey(backend.name, db.url, 'codomyrmex_migrations')).toEqual(['version']);
    expect(await primaryKey(backend.name, db.url, 'codomyrmex_migration_events')).toEqual(['id']);
  });

  it('hides them from get_schema, statistics and resources, and shows them when named', async () => {
    const listed = ((await mustCall(h.client, 'get_schema', { connection: 'db' })).tables as Json[]).map((t) => t.table);
    expect(listed).toEqual(['widgets']);
    const named = await mustCall(h.client, 'get_schema', { connection: 'db', table: 'codomyrmex_migrations', ...(backend.name === 'postgres' ? { schema: 'codomyrmex' } : {}) });
    expect((named.table as Json).table).toBe('codomyrmex_migrations');
    const stats = await mustCall(h.client, 'get_database_stats', { connection: 'db' });
    const largest = ((stats.largest_tables as Json[] | null) ?? []).map((t) => String(t.table));
    expect(largest.filter((t) => t.includes('codomyrmex'))).toEqual([]);
    const resources = (await h.client.listResources()).resources.map((r) => r.uri);
    expect(resources.filter((u) => u.includes('codomyrmex_'))).toEqual([]);
    expect(resources.some((u) => u.endsWith('/widgets'))).toBe(true);
  });

  it('leaves them out of a portable backup unless the table list names them', async () => {
    const all = await mustCall(h.client, 'create_backup', { database: 'db', output_path: `all-${backend.name}.cmx.gz` });
    expect((all.tables as Json[]).map((t) => t.name)).toEqual(['widgets']);
    const name = backend.name === 'postgres' ? 'codomyrmex.codomyrmex_migrations' : 'codomyrmex_migrations';
    const asked = await mustCall(h.client, 'create_backup', { database: 'db', output_path: `ours-${backend.name}.cmx.gz`, tables: [name] });
    expect((asked.tables as Json[]).map((t) => t.name)).toEqual(['codomyrmex_migrations']);
  });
});

/**
 * The layout of the previous version: both tables unqualified (PostgreSQL: in public), no
 * key on the events. Made from a current database by moving the tables back.
 */
async function downgrade(backend: TestBackend['name'], url: string): Promise<void> {
  const from = history(backend, '');
  const steps = backend === 'postgres'
    ? ['ALTER TABLE codomyrmex.codomyrmex_migrations SET SCHEMA public',
      'CREATE TABLE public.codomyrmex_migration_events AS SELECT at, version, action, actor, detail FROM codomyrmex.codomyrmex_migration_events ORDER BY id',
      'DROP SCHEMA codomyrmex CASCADE']
    : [`CREATE TABLE old_events AS SELECT at, version, action, actor, detail FROM ${from}codomyrmex_migration_events ORDER BY id`,
      `DROP TABLE ${from}codomyrmex_migration_events`,
      backend === 'mysql' ? 'RENAME TABLE old_events TO codomyrmex_migration_events' : 'ALTER TABLE old_events RENAME TO codomyrmex_migration_events',
      // MySQL's lock was GET_LOCK then; SQLite's lock table is as old as its history.
      ...(backend === 'mysql' ? ['DROP TABLE codomyrmex_locks'] : [])];
  for (const sql of steps) await raw(backend, url, sql);
}

describe.each(BACKENDS)('the move of an older layout on $name, raced by two servers', (backend: TestBackend) => {
  let db: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-book-old-');

  beforeAll(async () => {
    db = await freshDatabase(backend, 'bookold');
    migration(dir, 1, 'first', 'CREATE TABLE first_t (id integer PRIMARY KEY)');
    const h = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
    try {
      await mustCall(h.client, 'run_migration', { connection: 'db' });
    } finally {
      await h.close();
    }
    await downgrade(backend.name, db.url);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('reads the old history before the move, then both servers apply the next migration once', async () => {
    const before = await ourTables(backend.name, db.url);
    expect(before).toEqual(expected(backend.name, 'public'));
    const oldEvents = Number((await raw(backend.name, db.url, 'SELECT count(*) AS n FROM codomyrmex_migration_events'))[0]!.n);
    expect(oldEvents).toBeGreaterThan(0);
    migration(dir, 2, 'second', 'CREATE TABLE second_t (id integer PRIMARY KEY)');
    const [a, b] = await Promise.all([1, 2].map(() => startInProcess({ db: { url: db.url, migrations_dir: dir } })));
    try {
      const statuses = ((await mustCall(a!.client, 'list_migrations', { connection: 'db' })).migrations as Json[]).map((m) => `${m.version}:${m.status}`);
      expect(statuses).toEqual(['1:applied', '2:pending']);
      const runs = await Promise.all([a!, b!].map((x) => callTool(x.client, 'run_migration', { connection: 'db' })));
      const applied = runs.map((r) => (r.ok ? (r.data.applied as Json[]).map((m) => m.version) : [r.error.code]));
      expect(applied.flat().sort()).toEqual(['2']);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
    expect(await ourTables(backend.name, db.url)).toEqual(expected(backend.name));
    const rows = await raw(backend.name, db.url, `SELECT version, status FROM ${history(backend.name, 'codomyrmex_migrations')} ORDER BY version`);
    expect(rows.map((r) => `${r.version}:${r.status}`)).toEqual(['1:applied', '2:applied']);
    const events = await raw(backend.name, db.url, `SELECT id, version FROM ${history(backend.name, 'codomyrmex_migration_events')} ORDER BY id`);
    expect(events.length).toBeGreaterThan(oldEvents);
    expect(new Set(events.map((e) => String(e.id))).size).toBe(events.length);
    // The old events keep their order and come first.
    expect(events.slice(0, oldEvents).every((e) => String(e.version) === '1')).toBe(true);
    expect(await primaryKey(backend.name, db.url, 'codomyrmex_migration_events')).toEqual(['id']);
  });
});

/**
 * A pg_dump schema file as a migration: it runs `set_config('search_path', '', false)`
 * first, so every statement the server makes on its own tables afterwards must be
 * qualified. Dry run, then the real run: both succeed and agree.
 */
describe.skipIf(!BACKENDS.some((b) => b.name === 'postgres'))('a pg_dump schema file (Pagila) as a migration on postgres', () => {
  const pg = BACKENDS.find((b) => b.name === 'postgres')!;
  let db: { url: string; drop(): Promise<void> };
  let h: Harness;
  const dir = tempDir('cmx-book-pagila-');

  beforeAll(async () => {
    db = await freshDatabase(pg, 'pagila');
    const schema = gunzipSync(readFileSync('/work/shared/datasets/pagila-schema.sql.gz')).toString('utf8');
    writeFileSync(join(dir, '20260101000000_pagila.up.sql'), schema);
    h = await startInProcess({ db: { url: db.url, migrations_dir: dir } });
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('dry-runs and then applies it, the history kept in schema codomyrmex', async () => {
    const dry = await mustCall(h.client, 'run_migration', { connection: 'db', dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, executed: true });
    expect((dry.planned as Json[]).map((m) => m.version)).toEqual(['20260101000000']);
    expect(Number((await raw('postgres', db.url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'codomyrmex%'"))[0]!.n)).toBe(0);
    const real = await mustCall(h.client, 'run_migration', { connection: 'db' });
    expect((real.applied as Json[]).map((m) => m.version)).toEqual((dry.planned as Json[]).map((m) => m.version));
    expect(Number((await raw('postgres', db.url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'codomyrmex%'"))[0]!.n)).toBeGreaterThan(10);
    const rows = await raw('postgres', db.url, 'SELECT version, status FROM codomyrmex.codomyrmex_migrations');
    expect(rows.map((r) => `${r.version}:${r.status}`)).toEqual(['20260101000000:applied']);
    // The pooled connection's search_path was reset with the session: agent SQL still finds public.
    const n = await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT count(*) AS n FROM film' });
    expect(n).toBeTruthy();
  });
});
