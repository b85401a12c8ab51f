/**
 * Fault: the backup directory is full. backup_dir is a 2 MB tmpfs, partly filled by a
 * filler file of random size (so the disk fills at a different point of each backup:
 * in the data, at its end, in the manifest); the table compresses to more than the space.
 * Promised: an error with a stable code that says no space is left, no file left in
 * the directory (neither the backup, nor its manifest, nor a hidden temporary), the
 * server answers the next call, and once space is freed a backup works and lists as ok.
 * Needs root (mount); skipped with the reason printed otherwise.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startStdio } from '../support/mcp.js';
import { configFile } from './process.js';
import { record, REPEAT, tally, type Tally } from './tally.js';

type Json = Record<string, any>;
const ROWS = 100_000;
const SPACE = 2 * 1024 * 1024;

/** Mounts a 2 MB tmpfs now (module load), so describe.skipIf can say why it cannot. */
function mountSmallDisk(): { dir: string | null; reason: string } {
  const dir = tempDir('cmx-enospc-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SPACE}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, reason: '' };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { dir: null, reason: `cannot mount a tmpfs (${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}); needs root` };
  }
}

const disk = mountSmallDisk();
if (!disk.dir) console.error(`[faults] backup directory full: skipped: ${disk.reason}`);

afterAll(() => {
  if (disk.dir) {
    execFileSync('umount', [disk.dir]);
    rmSync(disk.dir, { recursive: true, force: true });
  }
});

/** ~64 random hex characters a row: about 3 MB once gzipped, more than the disk holds. */
function fillSql(backend: TestBackend['name']): string[] {
  const create = ['CREATE TABLE big (id integer PRIMARY KEY, payload varchar(64))', 'CREATE TABLE small (id integer PRIMARY KEY, v varchar(10))'];
  if (backend === 'postgres') return [...create, `INSERT INTO big SELECT g, md5(random()::text) || md5(random()::text) FROM generate_series(1, ${ROWS}) g`, "INSERT INTO small SELECT g, 'v' FROM generate_series(1, 10) g"];
  if (backend === 'mysql') return [...create, `INSERT INTO big SELECT seq, concat(md5(rand()), md5(rand())) FROM seq_1_to_${ROWS}`, "INSERT INTO small SELECT seq, 'v' FROM seq_1_to_10"];
  const series = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n})`;
  return [...create, `INSERT INTO big ${series(ROWS)} SELECT x, lower(hex(randomblob(32))) FROM c`, `INSERT INTO small ${series(10)} SELECT x, 'v' FROM c`];
}

describe.skipIf(!disk.dir).each(BACKENDS)('fault: backup directory full on $name', (backend: TestBackend) => {
  const t: Tally = tally('backup directory full (ENOSPC reported, no partial file)', backend.name);
  const dir = join(disk.dir ?? '/nonexistent', backend.name);
  let db: { url: string; drop(): Promise<void> };
  let server: Awaited<ReturnType<typeof startStdio>> | undefined;
  let log = '';

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    db = await freshDatabase(backend, 'enospc');
    server = await startStdio(['--config', configFile({ db: { url: db.url } }, { backup_dir: dir })]);
    server.transport.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString('utf8'); });
    for (const q of fillSql(backend.name)) await mustCall(server.client, 'execute_query', { connection: 'db', query: q });
  });

  afterAll(async () => {
    record(t);
    await server?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`reports the full disk and leaves no file, ${REPEAT} times`, async () => {
    const c = server!.client;
    const codes = new Map<string, number>();
    for (let rep = 0; rep < REPEAT; rep++) {
      // A filler of 0-1.5 MB: the space runs out early, late, or while the manifest is written.
      const filler = join(dir, 'filler.bin');
      writeFileSync(filler, Buffer.alloc(Math.floor(Math.random() * 1.5 * 1024 * 1024), 1));
      const name = `full-${rep}.cmx.gz`;
      const r = await callTool(c, 'create_backup', { database: 'db', output_path: name, tables: ['big'] }).catch((err: Error) => err);
      if (r instanceof Error) { t.crashes++; t.failures.push(`rep ${rep}: ${r.message}`); break; }
      t.runs++;
      if (r.ok) t.failures.push(`rep ${rep}: a backup larger than the disk succeeded (${r.data.size} bytes)`);
      else {
        codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
        if (r.error.code !== 'NO_SPACE' || !/no space/i.test(r.error.message)) t.failures.push(`rep ${rep}: ${r.error.code} ${r.error.message}`);
      }
      // A failed write must end the read cleanly: no session left out of step (PostgreSQL's
      // COPY once waited out a 3 s guard on it and then threw its whole pool away).
      for (const warn of log.split('\n').filter((l) => /could not reset a session|a connection died/.test(l))) t.failures.push(`rep ${rep}: ${warn.slice(0, 200)}`);
      log = '';
      const left = (await fs.readdir(dir)).filter((n) => n !== 'filler.bin');
      if (left.length) t.failures.push(`rep ${rep}: files left in the backup directory: ${left.join(', ')}`);
      const listed = (await mustCall(c, 'list_backups', {})).backups as Json[];
      if (listed.some((b) => b.name !== 'filler.bin')) t.failures.push(`rep ${rep}: list_backups shows ${JSON.stringify(listed.map((b) => [b.name, b.status]))}`);
      // Space freed: a backup works, lists as ok and restores; then it is removed to make room again.
      await fs.rm(filler);
      const ok = await callTool(c, 'create_backup', { database: 'db', output_path: `ok-${rep}.cmx.gz`, tables: ['small'] });
      if (!ok.ok) t.failures.push(`rep ${rep}: a backup after freeing space failed: ${ok.error.code} ${ok.error.message}`);
      else {
        const again = (await mustCall(c, 'list_backups', { verify: true })).backups as Json[];
        if (!again.some((b) => b.name === `ok-${rep}.cmx.gz` && b.status === 'ok')) t.failures.push(`rep ${rep}: the backup after freeing space is not listed ok`);
      }
      for (const n of await fs.readdir(dir)) await fs.rm(join(dir, n), { force: true });
    }
    console.error(`[faults] ENOSPC on ${backend.name}: codes ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(t.failures).toEqual([]);
    expect(t.crashes).toBe(0);
  }, 240_000);
});
