/**
 * Restoring a native SQLite backup by writing its bytes over an empty, locked database
 * file (DatabaseFile.takeOver), verified in the same pass: the file is read once,
 * hashed and written. Page 1 (the header, which says how many pages the database has)
 * is written last, and only once the whole file's size and SHA-256 match the
 * manifest: until then the file still reads as the old empty database (SQLite trusts
 * the page count in a valid header and ignores the pages past it), so a damaged
 * backup, a cancellation or a crash at any point leaves the target as it was.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { DbError } from '../../errors.js';
import { corrupt } from './format.js';
import type { Manifest } from './manifest.js';

const CHUNK = 4 << 20;
const MAGIC = 'SQLite format 3\u0000';

/** The page size a database file's header declares (1 stands for 65536). */
function pageSizeOf(header: Buffer): number | null {
  if (header.length < 100 || header.toString('latin1', 0, 16) !== MAGIC) return null;
  const v = header.readUInt16BE(16);
  return v === 1 ? 65536 : v;
}

export interface EmptyTarget {
  path: string;
  pageSize: number;
  pages: number;
}

/**
 * Writes the backup over the target; false (nothing written) when its first page
 * would not cover the target's whole old file (a smaller page size): the caller then
 * restores another way.
 */
export async function writeOverEmpty(src: string, m: Manifest, target: EmptyTarget, signal: AbortSignal): Promise<boolean> {
  const oldSize = target.pageSize * target.pages;
  const input = await fs.open(src, 'r');
  try {
    const head = Buffer.alloc(100);
    await input.read(head, 0, 100, 0);
    const pageSize = pageSizeOf(head);
    if (pageSize === null) throw corrupt(m.file, 'it is not an SQLite database file');
    if (pageSize < oldSize) return false;
    const output = await fs.open(target.path, 'r+');
    let committed = false;
    try {
      const first = Buffer.alloc(pageSize);
      const { bytesRead } = await input.read(first, 0, pageSize, 0);
      const hash = createHash('sha256').update(first.subarray(0, bytesRead));
      const size = bytesRead + await copyRest(input, output, bytesRead, hash, signal);
      if (size !== m.size || hash.digest('hex') !== m.sha256) throw corrupt(m.file, 'its size or SHA-256 differs from the manifest\'s');
      await output.sync();
      committed = true;
      await output.write(first, 0, bytesRead, 0);
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
 * Everything after the first page, read, hashed and written at the same offsets. Three
 * buffers: while one chunk is hashed, the next is being read and the one before is
 * being written (libuv's pool does the reads and writes). Nothing is left in flight
 * when this returns or throws, so the caller may cut the file after a failure.
 */
async function copyRest(input: fs.FileHandle, output: fs.FileHandle, from: number, hash: ReturnType<typeof createHash>, signal: AbortSignal): Promise<number> {
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  const writes: Array<Promise<unknown>> = [];
  let pos = from;
  let next = input.read(buffers[0], 0, CHUNK, pos);
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
      next = input.read(buffers[(i + 1) % 3], 0, CHUNK, pos);
      hash.update(part);
      writes.push(output.write(part, 0, bytesRead, at));
      writes[i].catch(() => undefined);
    }
    await Promise.all(writes);
    return pos - from;
  } finally {
    await Promise.allSettled([next, ...writes.slice(-3)]);
  }
}
