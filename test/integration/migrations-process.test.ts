/**
 * Migrations across real server processes: two servers racing on one database
 * apply each migration exactly once; a server SIGKILLed mid-migration leaves the
 * state each backend promises (PostgreSQL and SQLite: pending, nothing applied;
 * MySQL: failed, with the statements that ran counted).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startStdio } from '../support/mcp.js';

function writeMigration(dir: string, version: number, name: string, up: string, down: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${version}_${name}.sql`), `-- migrate:up\n${up}\n\n-- migrate:down\n${down}\n`);
}

function configFile(url: string, dir: string): string {
  const file = join(tempDir('cmx-cfg-'), 'config.json');
  writeFileSync(file, JSON.stringify({ connections: { db: { url, migrations_dir: dir } } }));
  return file;
}

/**
 * Until the other server holds the migration lock. PostgreSQL and MySQL show the holder
 * (get_migration_status); SQLite does not, so there a fixed pause stands in. A fixed
 * pause alone loses the race on a loaded machine: the rollback then goes first.
 */
/** Waits until the other server holds the migration lock (on SQLite a row in codomyrmex_locks): a fixed sleep raced a slow start under load. */
async function lockTaken(client: Client, _backend: TestBackend): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const status = await mustCall(client, 'get_migration_status', { connection: 'db' });
    if ((status.lock as { held: boolean }).held) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the other server never took the migration lock');
}

describe.each(BACKENDS)('migrations across processes on $name', (backend: TestBackend) => {
  it('applies each migration exactly once when two servers race, 10 times', async () => {
    const db = await freshDatabase(backend, 'race');
    const dir = tempDir('cmx-race-');
    const config = configFile(db.url, dir);
    const [a, b] = await Promise.all([startStdio(['--config', config]), startStdio(['--config', config])]);
    try {
      for (let round = 0; round < 10; round++) {
        for (let j = 0; j < 3; j++) {
          const v = round * 10 + j + 1;
          writeMigration(dir, v, `t${v}`, `CREATE TABLE race_${v} (a integer)`, `DROP TABLE race_${v}`);
        }
        const [ra, rb] = await Promise.all([
          callTool(a.client, 'run_migration', { connection: 'db' }),
          callTool(b.client, 'run_migration', { connection: 'db' }),
        ]);
        // Either a runner applied its share, or it met the other's lock (BUSY) and applied nothing.
        const applied = [ra, rb].flatMap((r) => (r.ok ? (r.data.applied as Array<{ version: string }>) : [])).map((x) => x.version);
        for (const r of [ra, rb]) if (!r.ok) expect(r.error.code).toBe('BUSY');
        expect(new Set(applied).size).toBe(applied.length);
        const status = await mustCall(a.client, 'get_migration_status', { connection: 'db' });
        if ((status.counts as Record<string, number>).pending > 0) await mustCall(a.client, 'run_migration', { connection: 'db' });
        const list = (await mustCall(a.client, 'list_migrations', { connection: 'db' })).migrations as Array<{ status: string }>;
        expect(list.length).toBe((round + 1) * 3);
        expect(list.every((m) => m.status === 'applied')).toBe(true);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  it('serialises a rollback behind a running migration in another server', async () => {
    const db = await freshDatabase(backend, 'order');
    const dir = tempDir('cmx-order-');
    const slow = {
      postgres: 'SELECT pg_sleep(1.5);',
      mysql: 'SELECT SLEEP(1.5);',
      sqlite: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000) SELECT count(*) FROM c;',
    }[backend.name];
    writeMigration(dir, 1, 'people', 'CREATE TABLE people (id integer PRIMARY KEY);', 'DROP TABLE people;');
    const config = configFile(db.url, dir);
    const [a, b] = await Promise.all([startStdio(['--config', config]), startStdio(['--config', config])]);
    try {
      await mustCall(a.client, 'run_migration', { connection: 'db' });
      writeMigration(dir, 2, 'email', `${slow}\nALTER TABLE people ADD COLUMN email varchar(100);`, 'ALTER TABLE people DROP COLUMN email;');
      const running = callTool(b.client, 'run_migration', { connection: 'db' });
      await lockTaken(a.client, backend);
      const rolled = await mustCall(a.client, 'rollback_migration', { connection: 'db' });
      const ran = await running;
      expect(ran.ok).toBe(true);
      // The rollback waited for the run, then undid the newest migration: 2, not 1.
      expect((rolled.rolled_back as Array<{ version: string }>).map((m) => m.version)).toEqual(['2']);
      const list = (await mustCall(a.client, 'list_migrations', { connection: 'db' })).migrations as Array<{ version: string; status: string }>;
      expect(list.map((m) => `${m.version}:${m.status}`)).toEqual(['1:applied', '2:pending']);
      const people = await callTool(a.client, 'execute_query', { connection: 'db', query: 'SELECT count(*) AS n FROM people' });
      expect(people.ok).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  it('leaves the promised state when the server is SIGKILLed mid-migration', async () => {
    const db = await freshDatabase(backend, 'kill');
    const dir = tempDir('cmx-kill-');
    const sleep = {
      postgres: 'SELECT pg_sleep(30);',
      mysql: 'SELECT SLEEP(30);',
      sqlite: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 500000000) SELECT count(*) FROM c;',
    }[backend.name];
    writeMigration(dir, 1, 'slow', `CREATE TABLE killed_first (a integer);\n${sleep}\nCREATE TABLE killed_second (a integer);`, 'DROP TABLE killed_second;\nDROP TABLE killed_first;');
    const config = configFile(db.url, dir);
    const victim = await startStdio(['--config', config]);
    const running = callTool(victim.client, 'run_migration', { connection: 'db' }).catch(() => null);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(victim.transport.pid as number, 'SIGKILL');
    await running;
    await victim.close().catch(() => undefined);
    const survivor = await startStdio(['--config', config]);
    try {
      // PostgreSQL ends the killed session's transaction (and its lock) once it notices the closed socket.
      let entry: { status: string; failed_statement: number | null } | undefined;
      for (let i = 0; i < 50; i++) {
        const list = await mustCall(survivor.client, 'list_migrations', { connection: 'db' });
        entry = (list.migrations as Array<{ status: string; failed_statement: number | null }>)[0];
        const s = await mustCall(survivor.client, 'get_migration_status', { connection: 'db' });
        if (entry.status !== 'running' && !(s.lock as { held: boolean }).held) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const exists = async (t: string): Promise<boolean> => (await callTool(survivor.client, 'execute_query', { connection: 'db', query: `SELECT count(*) AS n FROM ${t}` })).ok;
      if (backend.name !== 'mysql') {
        // Transactional DDL: nothing of the killed migration remains, and its lock is free again.
        expect(entry?.status).toBe('pending');
        const s = await mustCall(survivor.client, 'get_migration_status', { connection: 'db' });
        expect(s.lock).toEqual({ held: false, holder: null });
        expect(await exists('killed_first')).toBe(false);
      } else {
        expect(entry?.status).toBe('failed');
        expect(await exists('killed_first')).toBe(true);
        expect(await exists('killed_second')).toBe(false);
        const refused = await callTool(survivor.client, 'run_migration', { connection: 'db' });
        expect(refused.ok ? 'ok' : refused.error.code).toBe('MIGRATION_BLOCKED');
      }
    } finally {
      await survivor.close();
      await db.drop();
    }
  });
});
