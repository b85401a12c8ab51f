/**
 * PostgreSQL accounts that may not create a schema (no CREATE on the database: the usual
 * least privilege on PostgreSQL 15+) still run migrations: the history goes to the schema
 * an administrator made for it, or stays in the account's own schema, hidden either way;
 * an account that may create nothing anywhere is told what to grant.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, PG_URL, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
const tag = `${process.pid}_${Math.random().toString(36).slice(2, 6)}`;

describe.runIf(pg)('migration history for an account without CREATE on the database', () => {
  const dbs: Array<{ url: string; drop(): Promise<void> }> = [];
  const roles: string[] = [];
  let root: postgres.Sql;

  beforeAll(() => { root = postgres(PG_URL, { max: 1, onnotice: () => undefined }); });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    for (const r of roles) await root.unsafe(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    await root.end();
  });

  /** A fresh database, a login role with only what `grants` give it, and a migrations folder with one migration. */
  async function setUp(name: string, grants: (role: string) => string[]): Promise<{ url: string; dir: string; admin: postgres.Sql }> {
    const db = await freshDatabase(pg!, name);
    dbs.push(db);
    const role = `cmx_${name}_${tag}`;
    roles.push(role);
    await root.unsafe(`CREATE ROLE ${role} LOGIN`);
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    // PostgreSQL 15 gives PUBLIC no CREATE on public; nothing else is granted unless asked.
    await admin.unsafe('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    for (const g of grants(role)) await admin.unsafe(g);
    const dir = tempDir('cmx-bk-priv-');
    writeFileSync(join(dir, '1_people.sql'), '-- migrate:up\nCREATE TABLE people (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE people;\n');
    const url = db.url.replace(/\/\/[^@/]*@/, `//${role}@`);
    const teardown = db.drop;
    db.drop = async () => { await admin.end(); await root.unsafe(`DROP OWNED BY ${role} CASCADE`).catch(() => undefined); await teardown(); };
    return { url, dir, admin };
  }

  async function historyAt(admin: postgres.Sql): Promise<string[]> {
    const rows = await admin.unsafe("SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname LIKE 'codomyrmex_migration%' AND c.relkind = 'r' ORDER BY 1");
    return rows.map((r) => String(r.t));
  }

  it('keeps the history in the schema the account may create tables in, hidden from get_schema', async () => {
    const { url, dir, admin } = await setUp('bkpub', (r) => [`GRANT USAGE, CREATE ON SCHEMA public TO ${r}`]);
    const h = await startInProcess({ db: { url, migrations_dir: dir } });
    try {
      const run = await callTool(h.client, 'run_migration', { connection: 'db' });
      expect(run.ok ? 'ok' : `${run.error.code} ${run.error.message}`).toBe('ok');
      expect(await historyAt(admin)).toEqual(['public.codomyrmex_migration_events', 'public.codomyrmex_migrations']);
      const schema = await callTool(h.client, 'get_schema', { connection: 'db' });
      expect(JSON.stringify(schema.ok ? schema.data : schema.error)).not.toContain('codomyrmex_migrations');
      const status = await callTool(h.client, 'list_migrations', { connection: 'db' });
      expect(JSON.stringify(status.ok ? status.data : status.error)).toContain('"applied"');
    } finally {
      await h.close();
    }
  }, 60_000);

  it('uses the codomyrmex schema an administrator made for the account', async () => {
    const { url, dir, admin } = await setUp('bkown', (r) => [`CREATE SCHEMA codomyrmex AUTHORIZATION ${r}`, `GRANT USAGE, CREATE ON SCHEMA public TO ${r}`]);
    const h = await startInProcess({ db: { url, migrations_dir: dir } });
    try {
      const run = await callTool(h.client, 'run_migration', { connection: 'db' });
      expect(run.ok ? 'ok' : `${run.error.code} ${run.error.message}`).toBe('ok');
      expect(await historyAt(admin)).toEqual(['codomyrmex.codomyrmex_migration_events', 'codomyrmex.codomyrmex_migrations']);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('tells an account that may create nothing what to grant, and runs nothing', async () => {
    const { url, dir, admin } = await setUp('bknone', () => []);
    const h = await startInProcess({ db: { url, migrations_dir: dir } });
    try {
      const run = await callTool(h.client, 'run_migration', { connection: 'db' });
      expect(run.ok ? 'ok' : run.error.code).toBe('PERMISSION_DENIED');
      expect(run.ok ? '' : run.error.message).toMatch(/CREATE SCHEMA codomyrmex AUTHORIZATION/);
      expect(await historyAt(admin)).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);
});
