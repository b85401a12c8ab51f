/**
 * SQLite native backups (the database file copied while it is frozen in the backup's
 * snapshot, else the online backup API; restored by writing the file over an empty
 * database): the whole database comes back, the copy is a rollback-journal file whose
 * SHA-256 is the manifest's, the online backup API takes over when the WAL holds
 * frames, a damaged file leaves the target empty and usable, an open connection on the
 * target makes the restore copy tables instead, a writer during the backup (committing
 * and checkpointing while the file is copied) does not leak into it, and nothing is left beside the backup file (-wal,
 * -shm, -journal).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

/** A backup file opened on its own: SQLite finds it intact, and table t holds `rows`. */
function expectIntact(file: string, rows: number): void {
  const copy = new Database(file, { readonly: true });
  try {
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(copy.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: rows });
  } finally {
    copy.close();
  }
}

/** A native create_backup, with the messages of its progress notifications. */
async function backupWithProgress(h: Harness, args: Record<string, unknown>): Promise<{ result: Record<string, any>; messages: string[]; totals: Array<number | undefined> }> {
  const messages: string[] = [];
  const totals: Array<number | undefined> = [];
  const r = await h.client.callTool({ name: 'create_backup', arguments: { format: 'native', ...args } }, undefined, {
    onprogress: (p) => { messages.push(p.message ?? ''); totals.push(p.total); },
  });
  if (r.isError) throw new Error(JSON.stringify(r.content));
  return { result: r.structuredContent as Record<string, any>, messages, totals };
}

type Json = Record<string, any>;
const ROWS = 20_000;
const db = (name: string): { url: string } => ({ url: `sqlite://${join(dbDir, `${name}.db`)}` });
const dbDir = tempDir('cmx-sqlnative-');

describe('SQLite native backups', () => {
  let h: Harness;
  const dir = tempDir('cmx-sqlnative-bk-');
  const count = async (c: string, table = 't'): Promise<number> =>
    Number(rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query: `SELECT count(*) AS n FROM ${table}` }))[0].n);

  beforeAll(async () => {
    h = await startInProcess({
      src: db('src'), writer: db('src'), fresh: db('fresh'), fresh2: db('fresh2'), busy: db('busy'), busy2: db('busy'), live: db('live'),
      held: db('held'), fresh3: db('fresh3'), big: db('big'), linked: { url: `sqlite://${join(dbDir, 'link.db')}` }, fresh5: db('fresh5'),
      journal: { url: `sqlite://${join(dbDir, 'journal.db')}`, read_only: true },
    }, { backup_dir: dir });
    await mustCall(h.client, 'execute_transaction', { connection: 'src', queries: [
      { query: 'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)' },
      { query: `INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT 'row ' || x FROM c` },
      { query: 'CREATE INDEX t_v ON t (v)' },
      { query: 'CREATE VIEW tv AS SELECT id FROM t WHERE id % 2 = 0' },
    ] });
    // What the file carries beside the tables: a trigger on the view and the header's two numbers.
    const src = new Database(join(dbDir, 'src.db'));
    // The trigger names its view in another case: SQLite keeps it so in tbl_name.
    src.exec("CREATE TRIGGER tv_add INSTEAD OF INSERT ON TV BEGIN INSERT INTO t (v) VALUES ('through the view'); END");
    src.pragma('user_version = 42');
    src.pragma('application_id = 1886221427');
    src.close();
  });

  afterAll(async () => {
    await h?.close();
  });

  /**
   * A reader of its own, outside the server, holds the WAL's frames from the checkpoint
   * while `connection` adds a row: the native backup copies with the online backup API,
   * exactly the snapshot (the row included).
   */
  async function backupBehindReader(file: string, connection: string, before: number, output: string): Promise<void> {
    const reader = new Database(file);
    try {
      reader.exec('BEGIN');
      expect(reader.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: before });
      await mustCall(h.client, 'execute_query', { connection, query: "INSERT INTO t (v) VALUES ('in the WAL')" });
      expect((await fs.stat(`${file}-wal`)).size).toBeGreaterThan(0);
      const { result, messages } = await backupWithProgress(h, { database: connection, output_path: output });
      expect(messages).toContain('SQLite online backup running');
      expect((result.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: before + 1 });
      reader.exec('ROLLBACK');
    } finally {
      reader.close();
    }
  }

  it('writes the whole database over an empty one: rows, indexes, views and the sequence come back; nothing is left beside the backup', async () => {
    const made = await mustCall(h.client, 'create_backup', { database: 'src', format: 'native', output_path: 'n.sqlite' });
    expect((made.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: ROWS, sha256: null });
    const restored = await mustCall(h.client, 'restore_backup', { database: 'fresh', backup_path: 'n.sqlite' });
    expect((restored.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: ROWS, created: true });
    // Only the file itself carries views: the table-by-table path would have left it out.
    expect(await count('fresh', 'tv')).toBe(ROWS / 2);
    await mustCall(h.client, 'execute_query', { connection: 'fresh', query: "INSERT INTO t (v) VALUES ('next')" });
    const next = await mustCall(h.client, 'execute_query', { connection: 'fresh', query: "SELECT id FROM t WHERE v = 'next'" });
    expect(Number(rowsOf(next)[0].id)).toBe(ROWS + 1);
    expect((await mustCall(h.client, 'list_backups', { verify: true })).backups).toEqual([expect.objectContaining({ name: 'n.sqlite', status: 'ok' })]);
    expect((await fs.readdir(dir)).sort()).toEqual(['n.sqlite', 'n.sqlite.manifest.json']);
  });

  it('the copy of the frozen file: a rollback-journal database whose size and SHA-256 are the manifest\'s, and intact', async () => {
    const { result, messages, totals } = await backupWithProgress(h, { database: 'src', output_path: 'frozen.sqlite' });
    expect(messages).toContain('copying the database file');
    // The copy's progress counts bytes, out of the file's.
    expect(totals[messages.indexOf('copying the database file')]).toBe(result.size);
    const bytes = await fs.readFile(join(dir, 'frozen.sqlite'));
    expect(bytes.length).toBe(result.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
    // The source is in WAL mode (2, 2); the copy says rollback journal (1, 1).
    expect([bytes[18], bytes[19]]).toEqual([1, 1]);
    expectIntact(join(dir, 'frozen.sqlite'), ROWS);
    await fs.rm(join(dir, 'frozen.sqlite'));
    await fs.rm(join(dir, 'frozen.sqlite.manifest.json'));
  });

  it('frames in the WAL that a reader keeps from the checkpoint: the online backup API copies instead, exactly the snapshot', async () => {
    await mustCall(h.client, 'execute_transaction', { connection: 'held', queries: [
      { query: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)' },
      { query: "INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT 'a' || x FROM c" },
    ] });
    await backupBehindReader(join(dbDir, 'held.db'), 'held', 1000, 'held.sqlite');
    await mustCall(h.client, 'restore_backup', { database: 'fresh3', backup_path: 'held.sqlite' });
    expect(await count('fresh3')).toBe(1001);
  });

  it('a database reached through a symlink, frames in its WAL: the WAL is found by the real path, and the backup holds them', async () => {
    const real = new Database(join(dbDir, 'real.db'));
    real.pragma('journal_mode = WAL');
    real.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b')");
    real.close();
    await fs.symlink(join(dbDir, 'real.db'), join(dbDir, 'link.db'));
    await backupBehindReader(join(dbDir, 'real.db'), 'linked', 2, 'linked.sqlite');
    expectIntact(join(dir, 'linked.sqlite'), 3);
    await mustCall(h.client, 'restore_backup', { database: 'fresh5', backup_path: 'linked.sqlite' });
    expect(await count('fresh5')).toBe(3);
    // The reader gone, the checkpoint empties the real WAL, and the file itself is copied.
    const again = await backupWithProgress(h, { database: 'linked', output_path: 'linked-2.sqlite' });
    expect(again.messages).toContain('copying the database file');
    expectIntact(join(dir, 'linked-2.sqlite'), 3);
  });

  it('a rollback-journal database (read-only connection): the file itself is copied under the shared lock', async () => {
    const file = join(dbDir, 'journal.db');
    const d = new Database(file);
    expect(d.pragma('journal_mode', { simple: true })).toBe('delete');
    d.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b'), ('c'), ('d')");
    d.close();
    const { result, messages } = await backupWithProgress(h, { database: 'journal', output_path: 'journal.sqlite' });
    expect(messages).toContain('copying the database file');
    expect((result.tables as Json[]).find((x) => x.name === 't')).toMatchObject({ rows: 4 });
    const bytes = await fs.readFile(join(dir, 'journal.sqlite'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
    expect(bytes.equals(await fs.readFile(file))).toBe(true);
    expectIntact(join(dir, 'journal.sqlite'), 4);
  });

  it('a writer that commits and checkpoints while the frozen file is copied never reaches it: the backup is the snapshot, and intact', async () => {
    const BIG = 200_000;
    await mustCall(h.client, 'execute_transaction', { connection: 'big', queries: [
      { query: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)' },
      { query: `INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${BIG}) SELECT printf('%0100d', x) FROM c` },
    ] });
    // Another connection (this process; the server's database lives in its host process),
    // once the copy has begun: commits and checkpoints, never waiting for a lock.
    const other = new Database(join(dbDir, 'big.db'));
    other.pragma('busy_timeout = 0');
    const insert = other.prepare("INSERT INTO t (v) VALUES ('during the copy')");
    let commits = 0;
    let checkpoints = 0;
    // PASSIVE checkpoints during the copy that could not copy every frame (held back by our read lock).
    let heldBack = 0;
    let copying = false;
    let stop = false;
    let churn: Promise<void> = Promise.resolve();
    const messages: string[] = [];
    try {
      const r = await h.client.callTool({ name: 'create_backup', arguments: { database: 'big', format: 'native', output_path: 'big.sqlite' } }, undefined, {
        onprogress: (p) => {
          if (p.message) messages.push(p.message);
          if (p.message !== 'copying the database file' || copying) return;
          copying = true;
          churn = (async () => {
            while (!stop) {
              try {
                insert.run();
                commits++;
                const [r] = other.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
                checkpoints++;
                if (r.checkpointed < r.log) heldBack++;
              } catch (err) {
                if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
              }
              await new Promise((resolve) => setImmediate(resolve));
            }
          })();
        },
      });
      stop = true;
      await churn;
      if (r.isError) throw new Error(JSON.stringify(r.content));
      expect(messages).toContain('copying the database file');
      expect(commits).toBeGreaterThan(0);
      expect(checkpoints).toBeGreaterThan(0);
      expect(heldBack).toBeGreaterThan(0);
      const counted = ((r.structuredContent as Json).tables as Json[]).find((x) => x.name === 't')!.rows;
      expect(counted).toBe(BIG);
      expectIntact(join(dir, 'big.sqlite'), BIG);
      expect(Number((other.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n)).toBe(BIG + commits);
    } finally {
      stop = true;
      await churn.catch(() => undefined);
      other.close();
    }
  });

  it('a damaged backup over an empty database: BACKUP_CORRUPT, and the target is still an empty, usable database', async () => {
    const bytes = await fs.readFile(join(dir, 'n.sqlite'));
    bytes[Math.floor(bytes.length * 0.7)] ^= 0x20;
    await fs.writeFile(join(dir, 'bad.sqlite'), bytes);
    const m = JSON.parse(await fs.readFile(join(dir, 'n.sqlite.manifest.json'), 'utf8'));
    await fs.writeFile(join(dir, 'bad.sqlite.manifest.json'), JSON.stringify({ ...m, file: 'bad.sqlite' }));
    const r = await callTool(h.client, 'restore_backup', { database: 'fresh2', backup_path: 'bad.sqlite' });
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
    expect(await count('fresh2', 'sqlite_schema')).toBe(0);
    const size = (await fs.stat(join(dbDir, 'fresh2.db'))).size;
    expect(size).toBeLessThan(64 * 1024);
    await mustCall(h.client, 'execute_query', { connection: 'fresh2', query: 'CREATE TABLE ok (x INTEGER)' });
    expect(await count('fresh2', 'ok')).toBe(0);
  });

  it('another connection has the target open: the tables are copied instead, with the views, their triggers and the header\'s numbers', async () => {
    expect(await count('busy2', 'sqlite_schema')).toBe(0);
    const restored = await mustCall(h.client, 'restore_backup', { database: 'busy', backup_path: 'n.sqlite' });
    expect(restored.rows).toBe(ROWS);
    expect(await count('busy2')).toBe(ROWS);
    expect(await count('busy', 'tv')).toBe(ROWS / 2);
    const pragma = async (name: string): Promise<unknown> => Object.values(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'busy2', query: `PRAGMA ${name}` }))[0])[0];
    expect(await pragma('user_version')).toBe(42);
    expect(await pragma('application_id')).toBe(1886221427);
    await mustCall(h.client, 'execute_query', { connection: 'busy', query: 'INSERT INTO tv (id) VALUES (0)' });
    expect(await count('busy2')).toBe(ROWS + 1);
    // Again over itself in mode replace: the view is made anew, not refused as existing.
    await mustCall(h.client, 'restore_backup', { database: 'busy', backup_path: 'n.sqlite', mode: 'replace' });
    expect(await count('busy2', 'tv')).toBe(ROWS / 2);
  });

  it('a writer inserting all along does not leak into the backup: the restore holds exactly the counted rows', async () => {
    let writing = true;
    let inserted = 0;
    const writer = (async () => {
      while (writing) {
        await mustCall(h.client, 'execute_query', { connection: 'writer', query: "INSERT INTO t (v) VALUES ('live')" });
        inserted++;
      }
    })();
    while (inserted < 20) await new Promise((r) => setTimeout(r, 5));
    const made = await mustCall(h.client, 'create_backup', { database: 'src', format: 'native', output_path: 'live.sqlite' });
    const during = inserted;
    await new Promise((r) => setTimeout(r, 50));
    writing = false;
    await writer;
    const rows = (made.tables as Json[]).find((x) => x.name === 't')!.rows as number;
    expect(rows).toBeGreaterThan(ROWS);
    expect(rows).toBeLessThanOrEqual(ROWS + during + 1);
    expect(await count('src')).toBeGreaterThan(rows);
    await mustCall(h.client, 'restore_backup', { database: 'live', backup_path: 'live.sqlite' });
    expect(await count('live')).toBe(rows);
  });
});
