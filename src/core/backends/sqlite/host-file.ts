/**
 * Whole-file operations of the SQLite host (dialect.ts DatabaseFile): the online
 * backup, the checkpoint before one, freezing the file inside a snapshot, and taking
 * an empty database over so the parent can write a file in its place.
 */
import type Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, realpathSync, statSync, writeSync } from 'node:fs';
import { DbError } from '../../../errors.js';
import { toDbError } from './errors.js';
import { enableWal, fileOf, log, setBusyTimeout, type HostDb } from './host-db.js';
import type { HostFreeze, HostRequestOf, HostTakeover } from './host-protocol.js';

/** Large enough to map a whole database: reads in the backup and counts skip a read() per page. */
const MMAP_BYTES = 0x7fff0000;

/** Row counts of quoted table names, in the current transaction. */
function countRows(db: Database.Database, tables: string[]): number[] {
  return tables.map((q) => Number(db.prepare(`SELECT count(*) FROM ${q}`).pluck().safeIntegers(true).get()));
}

/**
 * The online backup API, every page in one step, inside a read transaction (the
 * session's snapshot, or one opened here): the counts and the copy see the same
 * snapshot, and writers on other connections (which go to the WAL) never restart it
 * (PITFALLS: a step-by-step backup restarts on every write). The copy's header says
 * WAL if the source is: bytes 18-19 are set to 1 (rollback journal), as `PRAGMA
 * journal_mode = DELETE` would, so opening the backup never leaves -wal/-shm files
 * beside it.
 */
export async function backupTo(host: HostDb, req: HostRequestOf<'backup'>): Promise<number[]> {
  const { db } = host.require();
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  // Inside the session's snapshot when it has one (the tables were listed in it).
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    const rows = countRows(db, req.count);
    await db.backup(req.dest, { progress: () => 0x7fffffff });
    const fd = openSync(req.dest, 'r+');
    try {
      writeSync(fd, Buffer.from([1, 1]), 0, 2, 18);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return rows;
  } finally {
    if (own && db.inTransaction) db.exec('ROLLBACK');
    db.pragma('mmap_size = 0');
  }
}

/**
 * Moves every frame of the WAL into the database file and empties the WAL, if that can
 * be done at once (busy_timeout 0: never waits); best effort, for `freeze`. Outside any
 * transaction. A PASSIVE checkpoint copies the frames without holding writers back (as
 * SQLite's automatic ones do); only when it copied them all does TRUNCATE, which holds
 * the WAL's write lock while it works, empty the WAL (nothing left to copy by then).
 */
export function checkpoint(host: HostDb): null {
  const conn = host.require();
  if (conn.readOnly || conn.db.inTransaction) return null;
  const busy = conn.busyTimeoutMs;
  setBusyTimeout(conn, 0);
  try {
    const passive = conn.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    const r = passive[0];
    if (r && r.busy === 0 && r.log === r.checkpointed) conn.db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    log('checkpoint before a backup did not run', { error: (err as Error).message });
  } finally {
    setBusyTimeout(conn, busy);
  }
  return null;
}

/**
 * Inside the session's snapshot (a read transaction that has read): the row counts,
 * and whether the database file itself is that snapshot, frozen until the
 * transaction ends, so that a byte copy of its first page_count pages is a consistent
 * backup. In rollback-journal mode it is: our shared lock keeps every writer from
 * committing. In WAL mode it is when the WAL is empty (after `checkpoint`) while we
 * read: our snapshot then holds no frame, so SQLite reads it from the file alone under
 * WAL_READ_LOCK(0), and no checkpoint may write the file while that lock is held;
 * writers go on into the WAL. Otherwise (frames in the WAL) `image` is null and the
 * caller copies with `backup`.
 */
export function freeze(host: HostDb, req: HostRequestOf<'freeze'>): HostFreeze {
  const { db } = host.require();
  const { lastOpen, openedFile } = host;
  if (!db.inTransaction || !lastOpen || lastOpen.file === ':memory:') throw new DbError('INTERNAL', "freeze needs a file database and the session's snapshot");
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  try {
    const rows = countRows(db, req.count);
    const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const bytes = Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }));
    // The file SQLite has open (by its device and inode: a file renamed over the path
    // since is not it), holding every page the snapshot has.
    const file = fileOf(lastOpen.file);
    if (!file || file.dev !== openedFile?.dev || file.ino !== openedFile.ino || file.size < bytes) return { rows, image: null };
    const image = { bytes, wal: mode === 'wal', dev: file.dev, ino: file.ino };
    if (mode === 'delete' || mode === 'truncate' || mode === 'persist') return { rows, image };
    if (mode === 'wal' && walBytes(lastOpen.file) === 0) return { rows, image };
    return { rows, image: null };
  } finally {
    db.pragma('mmap_size = 0');
  }
}

/**
 * The size of the database's WAL file; -1 when it cannot be read. SQLite names the WAL
 * after the database's real path (symlinks resolved), and while a connection has the
 * database open in WAL mode the file exists: missing means we are not looking at it.
 */
function walBytes(file: string): number {
  try {
    return statSync(`${realpathSync(file)}-wal`).size;
  } catch {
    return -1;
  }
}

/**
 * Makes this connection the only user of an empty database and locks it, so the
 * parent can write a whole database file in its place. In WAL mode every connection
 * that has read holds a shared lock on the file, so leaving WAL (which needs the
 * exclusive lock) succeeds only when no other connection has the file open with a
 * cache: no one can be left reading stale pages. BEGIN EXCLUSIVE then keeps everyone
 * out (new readers wait) until `release`.
 */
export function takeover(host: HostDb): HostTakeover {
  const conn = host.require();
  const { db } = conn;
  const busy = conn.busyTimeoutMs;
  setBusyTimeout(conn, 0);
  try {
    const mode = String(db.pragma('journal_mode = DELETE', { simple: true }));
    if (mode !== 'delete') return { ok: false, reason: `the database stays in ${mode} mode` };
  } catch (err) {
    if (toDbError(err).code === 'BUSY') return { ok: false, reason: 'another connection has the database open' };
    throw err;
  } finally {
    setBusyTimeout(conn, busy);
  }
  const pages = Number(db.pragma('page_count', { simple: true }));
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  if (pages > 1) {
    enableWal(db);
    return { ok: false, reason: 'the database is not empty' };
  }
  db.exec('BEGIN EXCLUSIVE');
  return { ok: true, pageSize, pages };
}

/** Ends `takeover`: the file may hold another database now, so this connection (and its cache) is replaced by a fresh one. */
export function release(host: HostDb): null {
  host.reopen();
  return null;
}
