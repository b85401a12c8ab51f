/**
 * Backup files live directly in the configured backup_dir, nowhere else: a name is
 * one path component (or an absolute path whose directory is backup_dir), never a
 * dot file (temporaries are), never a symlink, never `..`. New files are written to
 * a hidden temporary, synced, and hard-linked to their name: link fails when the
 * name exists, so a backup appears whole or not at all and never replaces a file.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, type WriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DbError } from '../../errors.js';

export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Characters that make a name show as another one, or break the lines of a listing:
 * C0/C1 controls (newline included), zero-width characters, bidirectional overrides and
 * isolates, the BOM. `existing.cmx.gz\u200b` must not pass for `existing.cmx.gz`.
 */
const DECEPTIVE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

function refuse(field: string, message: string): DbError {
  return new DbError('INVALID_INPUT', message, { field });
}

/**
 * mkdir -p that fails with the real cause. Node's recursive mkdir answers ENOENT when a
 * missing level cannot be created on a read-only file system (EROFS) or without
 * permission: the level below the nearest existing ancestor is made alone to learn why.
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    let child = path.resolve(dir);
    let parent = path.dirname(child);
    while (parent !== child && !(await fs.lstat(parent).then(() => true, () => false))) [child, parent] = [parent, path.dirname(parent)];
    await fs.mkdir(child);
    throw err;
  }
}

/** backup_dir with symlinks resolved; created (with parents) when `create`. Null when it does not exist. */
export async function realBackupDir(dir: string, create: boolean): Promise<string | null> {
  if (create) await makeDirs(dir);
  try {
    const real = await fs.realpath(dir);
    if (!(await fs.stat(real)).isDirectory()) throw new DbError('INVALID_INPUT', `backup_dir ${dir} is not a directory`, { dir });
    return real;
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

/** The file name a user's path stands for, checked to lie directly in `realDir`. */
export async function backupName(realDir: string, given: string, field: string): Promise<string> {
  if (given.includes('\u0000')) throw refuse(field, `${field} may not contain a NUL character`);
  let name = given;
  if (path.isAbsolute(given)) {
    const parent = await fs.realpath(path.dirname(given)).catch(() => null);
    if (parent !== realDir) throw refuse(field, `${field} must name a file directly in the backup directory (${realDir})`);
    name = path.basename(given);
  }
  if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') {
    throw refuse(field, `${field} must be a file name in the backup directory, without directories or ".."`);
  }
  if (DECEPTIVE.test(name)) throw refuse(field, `${field} may not contain control, invisible or bidirectional-override characters`);
  if (name.trim() !== name) throw refuse(field, `${field} may not start or end with whitespace`);
  if (name.startsWith('.')) throw refuse(field, `${field} may not start with "." (hidden names are the server's temporary files)`);
  if (name.endsWith(MANIFEST_SUFFIX)) throw refuse(field, `${field} may not end with ${MANIFEST_SUFFIX} (manifests are written beside each backup)`);
  if (Buffer.byteLength(name) > 200) throw refuse(field, `${field} is longer than 200 bytes`);
  return name;
}

/** Refuses a name whose data file or manifest exists (symlinks included). */
export async function refuseExisting(realDir: string, name: string): Promise<void> {
  for (const f of [name, name + MANIFEST_SUFFIX]) {
    const found = await fs.lstat(path.join(realDir, f)).then(() => true, (err) => (errno(err) === 'ENOENT' ? false : Promise.reject(err)));
    if (found) throw new DbError('DUPLICATE_OBJECT', `${f} already exists in the backup directory; backups are never overwritten`, { file: f });
  }
}

/** An existing regular file in the directory (never through a symlink). */
export async function existingFile(realDir: string, name: string, what: string): Promise<string> {
  const full = path.join(realDir, name);
  const st = await fs.lstat(full).catch((err) => {
    if (errno(err) === 'ENOENT') throw new DbError('UNDEFINED_OBJECT', `no ${what} named ${name} in the backup directory`, { file: name });
    throw err;
  });
  if (st.isSymbolicLink()) throw new DbError('INVALID_INPUT', `${name} is a symlink; backups must be regular files in the backup directory`, { file: name });
  if (!st.isFile()) throw new DbError('INVALID_INPUT', `${name} is not a regular file`, { file: name });
  return full;
}

export interface PendingFile {
  /** The hidden temporary being written. */
  tmp: string;
  stream: WriteStream;
  /** The temporary's handle, for positional writes (not mixed with `stream`). */
  handle: FileHandle;
  /** Syncs and closes the temporary: complete on disk, not yet visible. */
  seal(): Promise<void>;
  /** Seals, then links the temporary to `name` (DUPLICATE_OBJECT if it appeared); the temporary stays until discard. */
  link(): Promise<void>;
  /** Removes the temporary (cancellation, failure). */
  discard(): Promise<void>;
}

/** A hidden temporary beside `name`, opened exclusively and without following symlinks. */
export async function pendingFile(realDir: string, name: string): Promise<PendingFile> {
  const tmp = path.join(realDir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  const stream = handle.createWriteStream({ autoClose: false, highWaterMark: 1 << 20 });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stream.destroy();
    await handle.close().catch(() => undefined);
  };
  const seal = async (): Promise<void> => {
    if (closed) return;
    await handle.sync();
    await close();
  };
  return {
    tmp,
    stream,
    handle,
    seal,
    link: async () => {
      await seal();
      await link(tmp, path.join(realDir, name), name);
    },
    discard: async () => {
      await close();
      await fs.rm(tmp, { force: true });
    },
  };
}

async function link(from: string, to: string, name: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new DbError('DUPLICATE_OBJECT', `${name} already exists in the backup directory; backups are never overwritten`, { file: name });
    throw err;
  }
}

/** Makes a new link durable: the directory entry is synced too. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, constants.O_RDONLY).catch(() => null);
  if (!h) return;
  await h.sync().catch(() => undefined);
  await h.close();
}
