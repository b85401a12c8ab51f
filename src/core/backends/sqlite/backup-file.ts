/**
 * The bytes of native SQLite backups, hashed as they are copied. Creating one
 * (copyImage): the database file, frozen in the backup's snapshot, copied into the
 * backup. Restoring one (writeOverEmpty): the backup written over an empty, locked database
 * file (DatabaseFile.takeOver), verified in the same pass: the file is read once,
 * hashed and written. Page 1 (the header, which says how many pages the database has)
 * is written last, and only once the whole file's size and SHA-256 match the
 * manifest: until then the file still reads as the old empty database (SQLite trusts
 * the page count in a valid header and ignores the pages past it), so a damaged
 * backup, a cancellation or a crash at any point leaves the target as it was.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { DbError } from '../../../errors.js';
import type { FrozenFile } from '../../dialect.js';

/** 1 MiB: three of them stay in the CPU caches between the read, the hash and the write (measured best of 256 KiB to 4 MiB). */
const CHUNK = 1 << 20;
/** While copying, a datasync every this many bytes (see copyRest). */
const FLUSH_BYTES = 32 << 20;
const MAGIC = 'SQLite format 3\u0000';

/** The page size a database file's header declares (1 stands for 65536). */
function pageSizeOf(header: Buffer): number | null {
  if (header.length < 100 || header.toString('latin1', 0, 16) !== MAGIC) return null;
  const v = header.readUInt16BE(16);
  return v === 1 ? 65536 : v;
}

/** A copy's cancellation, and where it reports the bytes copied so far (at most once a second). */
export interface CopyControl {
  signal: AbortSignal;
  progress?: (bytes: number) => Promise<void>;
}

const PROGRESS_EVERY_MS = 1000;

/** What the backup file must be, by its manifest, and the error for one that is not. */
export interface Expected {
  size: number;
  sha256: string;
  damaged(why: string): Error;
}

export interface EmptyTarget {
  path: string;
  pageSize: number;
  pages: number;
}

/**
 * Writes the backup over the target; false (nothing written) when its first page
 * would not cover the target's whole old file (a smaller page size), or the target has
 * no page 1 to keep until the end: the caller then restores another way.
 */
export async function writeOverEmpty(src: string, m: Expected, target: EmptyTarget, control: CopyControl): Promise<boolean> {
  const { signal } = control;
  const oldSize = target.pageSize * target.pages;
  const input = await fs.open(src, 'r');
  try {
    const head = Buffer.alloc(100);
    await input.read(head, 0, 100, 0);
    const pageSize = pageSizeOf(head);
    if (pageSize === null) throw m.damaged('it is not an SQLite database file');
    // A file with no page yet (never written: WAL could not be set at open) would, if the
    // server died mid-copy, keep a hole where page 1 goes: not a database at all.
    if (pageSize < oldSize || target.pages < 1) return false;
    const output = await fs.open(target.path, 'r+');
    let committed = false;
    try {
      const first = Buffer.alloc(pageSize);
      const { bytesRead } = await input.read(first, 0, pageSize, 0);
      const hash = createHash('sha256').update(first.subarray(0, bytesRead));
      const size = bytesRead + await copyRest(input, output, bytesRead, hash, control);
      if (size !== m.size || hash.digest('hex') !== m.sha256) throw m.damaged('its size or SHA-256 differs from the manifest\'s');
      await output.sync();
      committed = true;
      await writeAll(output, first.subarray(0, bytesRead), 0);
      await output.sync();
      return true;
    } catch (err) {
      // Page 1 is still the old one: cut the pages written past it, and the file is as it was.
      if (!committed) await output.truncate(oldSize).then(() => output.sync()).catch(() => undefined);
      if (signal.aborted && !committed) throw new DbError('CANCELLED', 'cancelled by the client; the target database is unchanged');
      throw err;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * A native SQLite backup from a frozen database file (DatabaseFile.freeze): its first
 * `bytes` bytes copied into `out` and hashed in the same pass, page 1 with bytes 18-19
 * set to 1 when the source is in WAL mode (the copy is a rollback-journal database, so
 * opening it never leaves -wal/-shm files beside it). The file must hold them all:
 * fewer is an error, and the copy is not used.
 */
export async function copyImage(image: FrozenFile, out: fs.FileHandle, control: CopyControl): Promise<{ size: number; sha256: string }> {
  // This process holds no SQLite lock on the file (the host does), so closing this
  // descriptor releases none: POSIX drops a process's locks when it closes any descriptor of the file.
  const input = await fs.open(image.path, 'r');
  try {
    const st = await input.stat();
    if (st.dev !== image.dev || st.ino !== image.ino) throw new DbError('INTERNAL', 'the database file was replaced during the backup');
    const head = Buffer.alloc(100);
    const { bytesRead } = await input.read(head, 0, 100, 0);
    if (bytesRead < 100 || pageSizeOf(head) === null) throw new DbError('INTERNAL', 'the database file has no SQLite header');
    if (image.wal) head.writeUInt16BE(0x0101, 18);
    const hash = createHash('sha256').update(head);
    await writeAll(out, head, 0);
    const size = 100 + await copyRest(input, out, 100, hash, control, image.bytes);
    if (size !== image.bytes) throw new DbError('INTERNAL', `the database file ended after ${size} of its ${image.bytes} bytes`);
    return { size, sha256: hash.digest('hex') };
  } finally {
    await input.close();
  }
}

/** Writes all of `buf` at `at`: a write may take fewer bytes (a disk filling up), and the rest is then written (or its error thrown). */
async function writeAll(out: fs.FileHandle, buf: Buffer, at: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await out.write(buf, done, buf.length - done, at + done);
    if (bytesWritten <= 0) throw new DbError('NO_SPACE', 'the disk took no more bytes');
    done += bytesWritten;
  }
}

/**
 * The bytes from `from` to `end` (or to the end of the file, if sooner), read, hashed
 * and written at the same offsets. Three buffers: while one chunk is hashed, the next
 * is being read and the one before is being written (libuv's pool does the reads and
 * writes), and every 32 MiB a datasync starts, so the pages already written go to
 * disk during the hashing instead of all in the caller's final fsync. Nothing is left
 * in flight when this returns or throws, so the caller may cut the file after a failure.
 */
async function copyRest(input: fs.FileHandle, output: fs.FileHandle, from: number, hash: ReturnType<typeof createHash>, control: CopyControl, end = Infinity): Promise<number> {
  const { signal, progress } = control;
  let reported = Date.now();
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const writes: Array<Promise<unknown>> = [];
  let pos = from;
  const want = (at: number): number => Math.max(0, Math.min(CHUNK, end - at));
  let next = input.read(buffers[0], 0, want(pos), pos);
  // Written pages go to disk while the rest is hashed, so the caller's final fsync has little left.
  let flushing: Promise<unknown> | null = null;
  let flushError: unknown = null;
  let flushedAt = from;
  try {
    for (let i = 0; ; i++) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      if (signal.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
      const part = buffers[i % 3].subarray(0, bytesRead);
      const at = pos;
      pos += bytesRead;
      // The next read reuses the buffer of the write two chunks back.
      if (i >= 2) await writes[i - 2];
      next = input.read(buffers[(i + 1) % 3], 0, want(pos), pos);
      hash.update(part);
      // One write at a time: writers of one file take turns on its lock anyway, and two waiting spin on it.
      const previous = writes[i - 1];
      writes.push(previous ? previous.then(() => writeAll(output, part, at)) : writeAll(output, part, at));
      writes[i].catch(() => undefined);
      if (progress && Date.now() - reported >= PROGRESS_EVERY_MS) {
        reported = Date.now();
        await progress(pos);
      }
      // A failed datasync is kept and thrown: Linux may drop the pages it failed to write,
      // and a later fsync would then succeed over a file without them.
      if (flushError) throw flushError;
      if (!flushing && at - flushedAt >= FLUSH_BYTES) {
        flushedAt = at;
        flushing = output.datasync().catch((err: unknown) => { flushError ??= err; }).finally(() => { flushing = null; });
      }
    }
    await Promise.all(writes);
    await flushing;
    if (flushError) throw flushError;
    return pos - from;
  } finally {
    await Promise.allSettled([next, ...writes.slice(-3), flushing]);
  }
}
