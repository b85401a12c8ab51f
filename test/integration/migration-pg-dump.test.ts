/**
 * A schema file written by this machine's pg_dump (15.14+ frames it in `\restrict` /
 * `\unrestrict` lines, and sets search_path to '') runs as a migration: dry run, then for
 * real, on a fresh database, and the objects arrive.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.runIf(pg)('a pg_dump schema file as a migration', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-pgdump-mig-');

  beforeAll(async () => {
    src = await freshDatabase(pg!, 'dumpsrc');
    dst = await freshDatabase(pg!, 'dumpdst');
    const s = postgres(src.url, { max: 1, onnotice: () => undefined });
    await s.unsafe("CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'ok', note text); COMMENT ON TABLE person IS 'a\\b'");
    await s.end();
    const u = new URL(src.url);
    const dump = execFileSync('pg_dump', ['-s', '--no-owner', '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username), u.pathname.slice(1)], { encoding: 'utf8' });
    writeFileSync(join(dir, '1_schema.up.sql'), dump);
  }, 60_000);

  afterAll(async () => {
    await src?.drop();
    await dst?.drop();
  });

  it('dry-runs, then applies, and the objects exist', async () => {
    const h = await startInProcess({ db: { url: dst.url, migrations_dir: dir } });
    try {
      const dry = await callTool(h.client, 'run_migration', { connection: 'db', dry_run: true });
      expect(dry.ok ? 'ok' : `${dry.error.code} ${dry.error.message}`).toBe('ok');
      const run = await callTool(h.client, 'run_migration', { connection: 'db' });
      expect(run.ok ? 'ok' : `${run.error.code} ${run.error.message}`).toBe('ok');
      const d = postgres(dst.url, { max: 1, onnotice: () => undefined });
      const [row] = await d.unsafe("SELECT to_regclass('public.person') IS NOT NULL AS t, (SELECT count(*) FROM pg_enum e JOIN pg_type y ON y.oid = e.enumtypid WHERE y.typname = 'mood')::int AS labels");
      await d.end();
      expect(row).toEqual({ t: true, labels: 2 });
    } finally {
      await h.close();
    }
  }, 60_000);
});
