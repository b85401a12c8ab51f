/**
 * Review of 28592ac: the reader follows the host. A reader opened beside a host keeps
 * answering after that host died (killed at a timeout, or from outside), without a host
 * running: slot.current keeps the dead host, so its pid still matches. If the file at the path
 * changes meanwhile (a restore by mv, a deleted file), the server answers from a file no host
 * has open, where a host (started for the call, as before) would read the file at the path.
 */
import { existsSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import { newFile, open, opts, q } from './helpers.js';

const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c';

async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!existsSync(`/proc/${pid}`)) return;
    try {
      const stat = (await import('node:fs')).readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) return;
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function otherDb(file: string): void {
  const other = join(file, '..', 'other.sqlite');
  const o = new Database(other);
  o.exec('CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2), (3)');
  o.close();
  renameSync(other, file);
}

describe('review17: the reader after its host died', () => {
  it('S1 host killed from outside, another database moved to the path: once the server has seen the host exit, reads are the new host\'s', async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await d.execute(q('INSERT INTO t VALUES (1)'), opts());
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
    const pid = d.hostPid()!;
    process.kill(pid, 'SIGKILL');
    await gone(pid);
    // Until the server has seen the host exit, a read may still answer from the file the host
    // had open (what it answered a moment before); once it has, never (FINDINGS S1).
    for (let i = 0; i < 200 && d.hostPid() !== null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(d.hostPid()).toBeNull();
    // The killed host's WAL goes with its file (left at the path, SQLite would apply it to the new file: the host path answered 1 too).
    for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) unlinkSync(f);
    otherDb(file);
    // A host started now opens the file at the path: 3 rows (what the host path answered before 28592ac).
    const r = await d.execute(q('SELECT count(*) AS n FROM t'), opts());
    expect(r.rows).toEqual([{ n: 3 }]);
  }, 30_000);

  it('S2 (holds) host killed by the server at a timeout, the file then deleted: the next read is the new host\'s', async () => {
    const file = newFile();
    const d = open(file);
    await d.execute(q('CREATE TABLE t (id INTEGER)'), opts());
    await d.execute(q('INSERT INTO t VALUES (1)'), opts());
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
    const pid = d.hostPid()!;
    const err = await d.execute(q(RUNAWAY), opts({ timeoutMs: 300 })).catch((e: unknown) => e);
    expect((err as DbError).code).toBe('TIMEOUT');
    await gone(pid);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) unlinkSync(f);
    // The host path: a new host creates an empty database at the path, and the table is missing.
    const after = await d.execute(q('SELECT count(*) AS n FROM t'), opts()).then((x) => x.rows, (e: unknown) => (e as DbError).message);
    expect(after).toMatch(/no such table: t/);
  }, 30_000);

  it('S3 (holds) a live host and a file moved to the path: the host\'s file is read (walls test, re-checked with a symlink retargeted)', async () => {
    const file = newFile();
    const real = join(file, '..', 'real.sqlite');
    const r = new Database(real);
    r.exec('CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1)');
    r.close();
    const { symlinkSync } = await import('node:fs');
    symlinkSync(real, file);
    const d = open(file);
    expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
    const other = join(file, '..', 'other2.sqlite');
    const o = new Database(other);
    o.exec('CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1), (2), (3)');
    o.close();
    unlinkSync(file);
    symlinkSync(other, file);
    // A schema change on the host's file makes the reader open again, by path (now the other file).
    await d.execute(q('CREATE TABLE u (x)'), opts());
    for (let i = 0; i < 3; i++) expect((await d.execute(q('SELECT count(*) AS n FROM t'), opts())).rows).toEqual([{ n: 1 }]);
  }, 30_000);
});
