/**
 * The portable backup file (SPEC.md §11.1): gzip of UTF-8 lines. A header object,
 * then per table a start object, its rows as JSON arrays, an end object with the
 * row count and the content checksum, and a trailer. Pure streams and fs: no
 * database. Lines starting with `[` are rows; every other line is an object.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, promises as fs, type WriteStream } from 'node:fs';
import { createGunzip, createGzip, type Gzip, type ZlibOptions } from 'node:zlib';
import { DbError } from '../../errors.js';
import type { NativeDdl } from '../backends/contract/backup.js';
import type { Backend } from '../backends/lookup.js';
import type { NativeObject } from '../backends/contract/backup.js';
import type { Table } from '../schema/model.js';
import type { Encoding } from './values.js';

export const FORMAT_NAME = 'codomyrmex-db backup';
export const FORMAT_VERSION = 1;
/** gzip level: 1 compresses ~150 MB of rows several times faster than the default 6, for a slightly larger file. */
const GZIP_LEVEL = 1;
const HASH_CHUNK = 4 << 20;

export interface Source {
  connection: string;
  backend: Backend;
  server_version: string;
  /** mariadb or mysql; null elsewhere. */
  flavor: string | null;
  database: string;
  /** The connection URL with its password replaced by `***`. */
  url: string;
}

export interface TableEntry {
  /** Table name; `schema` is the PostgreSQL schema it came from. */
  name: string;
  schema?: string;
  /** The portable schema of the table (get_schema's shape). */
  definition: Table;
  /** Row layout: one encoding per column, in row order. */
  columns: Array<{ name: string; encoding: Encoding }>;
  /** Columns the rows are sorted by (the primary key); empty: the source's scan order. */
  order_by: string[];
  /** The auto-increment column and the next value it hands out, as a decimal string. */
  sequence: { column: string; next: string } | null;
  /** Per column, what it has that the portable schema cannot carry (`on update current_timestamp()`); absent when nothing. */
  unportable?: Record<string, string[]>;
  /** What the table has that the portable schema cannot carry (PostgreSQL partitioning, the key's own order, DEFERRABLE keys …); absent when nothing. */
  table_unportable?: string[];
  /** Columns holding values their declared type does not hold (SQLite enforces neither types nor sizes): another backend makes them text. */
  mixed?: string[];
  /** Text columns holding NUL characters (SQLite): a target whose text refuses them makes them binary. */
  nul?: string[];
  /**
   * The source's own statements that create the table exactly (MySQL: SHOW CREATE TABLE).
   * A restore into the same backend runs them instead of DDL built from `definition`;
   * other backends ignore them. Absent in backups of backends that do not write it.
   */
  ddl?: string[];
  /** Columns the server computes (generated): their values are in the rows, but a table created from `ddl` does not take them. */
  generated?: string[];
}

export interface Header {
  format: typeof FORMAT_NAME;
  version: number;
  created_at: string;
  source: Source;
  tables: TableEntry[];
  /** Whole-database backups of a backend that has it: the schema as its own SQL, for restores into the same backend. */
  native_ddl?: NativeDdl;
  /**
   * Views, routines, triggers and events, as the source's own SQL in creation order
   * (a restore into the same backend creates them after the rows). Absent: none carried.
   */
  objects?: NativeObject[];
}

export interface TableSummary {
  name: string;
  schema?: string;
  rows: number;
  /** SHA-256 (hex) of the table's row lines, each with its newline, in file order. */
  sha256: string;
}

/** What the last line holds. */
export interface Trailer {
  trailer: true;
  tables: TableSummary[];
  rows: number;
}

/** Writes lines through gzip into `out`, hashing and counting the compressed bytes. */
export class BackupFileWriter {
  // Room for a few batches, so reading the database and compressing overlap instead of taking turns.
  private readonly gzip: Gzip = createGzip({ level: GZIP_LEVEL, chunkSize: 256 * 1024, highWaterMark: 4 * 1024 * 1024 } as ZlibOptions);
  private readonly fileHash: Hash = createHash('sha256');
  private size = 0;
  private readonly done: Promise<void>;

  constructor(out: WriteStream) {
    this.gzip.on('data', (chunk: Buffer) => {
      this.fileHash.update(chunk);
      this.size += chunk.length;
      if (!out.write(chunk)) {
        this.gzip.pause();
        out.once('drain', () => this.gzip.resume());
      }
    });
    this.done = new Promise((resolve, reject) => {
      this.gzip.once('error', reject);
      out.once('error', reject);
      this.gzip.once('end', () => out.end(resolve));
    });
    this.done.catch(() => undefined);
  }

  /** Writes text (one or more whole lines); waits while gzip is behind, so memory stays flat. */
  async write(text: string | Buffer): Promise<void> {
    if (!this.gzip.write(text)) await Promise.race([once(this.gzip, 'drain'), this.done]);
  }

  async writeObject(value: object): Promise<void> {
    await this.write(`${JSON.stringify(value)}\n`);
  }

  /** Ends the stream; resolves once every byte is handed to the file. */
  async end(): Promise<{ size: number; sha256: string }> {
    this.gzip.end();
    await this.done;
    return { size: this.size, sha256: this.fileHash.digest('hex') };
  }

  destroy(): void {
    this.gzip.destroy();
  }
}

/**
 * SHA-256 and size of a whole file, in 4 MiB reads: the next read runs (in libuv's
 * pool) while this chunk is hashed, about 25% faster than a read stream here.
 */
export async function hashFile(path: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const fh = await fs.open(path, 'r');
  const buffers = [Buffer.allocUnsafe(HASH_CHUNK), Buffer.allocUnsafe(HASH_CHUNK)];
  let next = fh.read(buffers[0], 0, HASH_CHUNK, 0);
  try {
    let size = 0;
    for (let i = 1; ; i++) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return { size, sha256: hash.digest('hex') };
      if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
      size += bytesRead;
      next = fh.read(buffers[i & 1], 0, HASH_CHUNK, size);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await next.catch(() => undefined);
    await fh.close();
  }
}

export const corrupt = (file: string, why: string): DbError =>
  new DbError('BACKUP_CORRUPT', `backup ${file} is damaged: ${why}; nothing was restored`, { file });

/** Whole lines of a gzip file, a batch at a time: their text (joined by `\n`, none after the last) and their exact bytes (each line with its `\n`). */
interface LineBatch {
  text: string;
  bytes: Buffer;
}

async function* lineBatches(path: string, file: string, signal?: AbortSignal): AsyncGenerator<LineBatch> {
  // 64 KiB of text per batch bounds what a batch holds in memory (its string, its parsed
  // rows, their load form): with 256 KiB the batches outlived V8's young generation and
  // were promoted, so the old space filled with garbage up to its limit (restore peak RSS
  // about 40 MB higher, and slower). A longer line (a big binary value) is joined chunk by
  // chunk and makes a batch of its own.
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const input = createReadStream(path, { signal, highWaterMark: 1 << 20 }).pipe(gunzip);
  // The start of a line not yet ended, in pieces: each chunk is searched for a newline once
  // and joined once (joining and searching the whole pending line at each chunk made a
  // 40 MB value take 9 s).
  let rest: Buffer[] = [];
  let restBytes = 0;
  try {
    for await (const chunk of input) {
      const c = chunk as Buffer;
      const end = c.lastIndexOf(10);
      if (end < 0) {
        rest.push(c);
        restBytes += c.length;
        continue;
      }
      const buf = restBytes ? Buffer.concat([...rest, c], restBytes + c.length) : c;
      const cut = restBytes + end;
      rest = end === c.length - 1 ? [] : [c.subarray(end + 1)];
      restBytes = c.length - end - 1;
      yield { text: buf.toString('utf8', 0, cut), bytes: buf.subarray(0, cut + 1) };
    }
  } catch (err) {
    if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    throw corrupt(file, `the compressed data does not read back (${(err as Error).message})`);
  }
  if (restBytes) throw corrupt(file, 'the last line is cut short');
}

/**
 * Row lines (each a JSON array) joined by `\n`; `bytes`, when known, are exactly the
 * lines as written, each with its `\n` (what a table's content checksum covers).
 */
export interface RowLines {
  kind: 'rows';
  text: string;
  bytes: Buffer | null;
}

export type BackupRecord =
  | { kind: 'start'; table: number }
  | RowLines
  | { kind: 'end'; table: number; rows: number; sha256: string }
  | { kind: 'trailer'; trailer: Trailer };

function parseObject(line: string, file: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw corrupt(file, 'a line is not JSON');
  }
}

/** Reads a portable backup: the header first, then its records in order. */
export async function openBackup(path: string, file: string, signal?: AbortSignal): Promise<{ header: Header; records: AsyncGenerator<BackupRecord> }> {
  const batches = lineBatches(path, file, signal);
  const first = await batches.next();
  const text = first.done ? '' : first.value.text;
  const cut = text.indexOf('\n');
  const header = text ? parseObject(cut < 0 ? text : text.slice(0, cut), file) as unknown as Header : null;
  if (!header || header.format !== FORMAT_NAME) throw corrupt(file, 'it does not start with a codomyrmex-db backup header');
  if (header.version !== FORMAT_VERSION) throw new DbError('UNSUPPORTED', `backup ${file} has format version ${header.version}; this server reads version ${FORMAT_VERSION}`, { file });
  return { header, records: records(cut < 0 ? null : text.slice(cut + 1), batches, file) };
}

/**
 * A batch of nothing but rows (the common case: objects open and close tables) is
 * handed on whole, text and bytes, never split into lines; a batch with objects in it
 * is split, and its row runs are handed on without bytes.
 */
async function* records(head: string | null, batches: AsyncGenerator<LineBatch>, file: string): AsyncGenerator<BackupRecord> {
  if (head) yield* splitBatch(head, file);
  for await (const { text, bytes } of batches) {
    if (text.charCodeAt(0) === 91 /* [ */ && !text.includes('\n{')) yield { kind: 'rows', text, bytes };
    else yield* splitBatch(text, file);
  }
}

function* splitBatch(text: string, file: string): Generator<BackupRecord> {
  let rows: string[] = [];
  for (const line of text.split('\n')) {
    if (line.charCodeAt(0) === 91 /* [ */) { rows.push(line); continue; }
    if (rows.length) { yield { kind: 'rows', text: rows.join('\n'), bytes: null }; rows = []; }
    const o = parseObject(line, file);
    if (typeof o.table === 'number') yield { kind: 'start', table: o.table };
    else if (typeof o.end === 'number') yield { kind: 'end', table: o.end, rows: Number(o.rows), sha256: String(o.sha256) };
    else if (o.trailer === true) yield { kind: 'trailer', trailer: o as unknown as Trailer };
    else throw corrupt(file, 'an unknown line');
  }
  if (rows.length) yield { kind: 'rows', text: rows.join('\n'), bytes: null };
}
