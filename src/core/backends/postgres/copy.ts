/**
 * Bulk reads and writes over COPY, on a pinned connection: the fastest way in and
 * out of PostgreSQL (PITFALLS: COPY to a file 1.0 s for 1M rows, a cursor to JSON
 * lines 8.5 s). Text format, so every value crosses as its exact text form.
 * Streams go through stream.pipeline (a `for await` over `.readable()` left the
 * connection unusable in postgres.js 3.4.9).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReservedSql } from 'postgres';
import { DbError } from '../../../errors.js';
import type { LoadBatch, LoadTarget } from '../../dialect.js';
import { jsonLineFields, type JsonLineForm } from '../../backup/json-lines.js';
import { isIntObject, isTextObject } from '../../backup/values.js';
import { waitAtMost } from '../../limits.js';
import { fromPgError } from './errors.js';

/** Rows handed to the caller at a time. */
const BATCH_ROWS = 2000;

const UNESCAPE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One COPY text field: `\N` is NULL; backslash escapes (the only ones COPY TO writes) undone. */
function field(text: string): string | null {
  if (text === '\\N') return null;
  if (!text.includes('\\')) return text;
  // Most escapes are doubled backslashes (JSON text is full of them): split and join
  // is native; the regex only runs when another escape is left.
  const parts = text.split('\\\\');
  if (!parts.some((p) => p.includes('\\'))) return parts.join('\\');
  return text.replace(/\\(.)/gs, (_, c: string) => UNESCAPE[c] ?? c);
}

/**
 * Splits COPY output into lines. PostgreSQL sends a message per row; chunks are kept
 * as they come and decoded a batch at a time (one toString and one split per batch,
 * not per row). A line may still straddle chunks.
 */
class LineSplitter {
  private chunks: Buffer[] = [];
  private size = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  get pending(): number {
    return this.chunks.length;
  }

  /** Every complete line so far; a partial last line stays for the next call. */
  lines(): string[] {
    if (!this.chunks.length) return [];
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const end = buf.lastIndexOf(10);
    const rest = end === buf.length - 1 ? null : buf.subarray(end + 1);
    this.chunks = rest ? [rest] : [];
    this.size = rest ? rest.length : 0;
    return end < 0 ? [] : buf.toString('utf8', 0, end).split('\n');
  }
}

/**
 * Cancels a COPY. postgres.js resolves a COPY query with its stream (CopyInResponse,
 * CopyOutResponse) and takes it for finished (`active` false) from then on: its cancel()
 * only waits for the query to start again, and the server ran the COPY to its end (a
 * cancelled backup read the whole table, a cancelled restore committed every row). Marked
 * active again, the cancel request is sent.
 */
function cancelCopy(q: { cancel(): unknown }): Promise<void> {
  const query = q as { active?: boolean; state?: unknown; canceller?: ((q: unknown) => unknown) | null };
  if (query.state) query.active = true;
  const canceller = query.canceller;
  if (typeof canceller !== 'function') {
    q.cancel();
    return Promise.resolve();
  }
  // The canceller's promise (q.cancel() drops it) says when the server has taken the request.
  query.canceller = null;
  return Promise.resolve(canceller(q)).then(() => undefined, () => undefined);
}

/** How long a COPY's end waits for its cancel request to be taken. */
const CANCEL_TAKEN_MS = 2000;

/**
 * A cancel request may reach the backend after its COPY ended: before the connection runs
 * anything else, wait until the server has taken the request (a signal that then finds the
 * backend idle is discarded). Without this, the session's ROLLBACK took the cancel and the
 * connection was thrown away ("could not reset a session").
 */
const cancelTaken = (cancelling: Promise<void> | undefined): Promise<void> => waitAtMost(cancelling, CANCEL_TAKEN_MS);

function cancelled(err: unknown, signal?: AbortSignal): DbError {
  return signal?.aborted ? new DbError('CANCELLED', 'cancelled by the client') : fromPgError(err);
}

/** What one COPY TO STDOUT gathers and hands to its caller a batch at a time. */
interface CopyOutSink {
  /** Takes one chunk of COPY output; true once a batch is ready to hand on. */
  add(chunk: Buffer): boolean;
  /** Hands what was gathered so far to the caller; undefined when there is nothing. */
  flush(): Promise<void> | undefined;
}

/**
 * Runs `COPY ... TO STDOUT` into `sink`, one batch at a time (the caller's promise is
 * awaited before more is read, so memory stays flat).
 *
 * A batch the caller cannot take (the backup's disk is full ...) does not fail the
 * stream: destroyed mid-COPY, postgres.js never reads the server's remaining rows and
 * ReadyForQuery, and the session's next statements wait out their 3 s guard (then the
 * pool is retired). As on cancellation, the COPY is cancelled instead and what still
 * arrives is dropped, so the connection comes back in step; the caller's error is the
 * one reported.
 */
async function copyOutInto(conn: ReservedSql, text: string, sink: CopyOutSink, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
  const q = conn.unsafe(text);
  let cancelling: Promise<void> | undefined;
  const onAbort = (): void => { cancelling ??= cancelCopy(q); };
  signal?.addEventListener('abort', onAbort, { once: true });
  let failure: unknown;
  const hand = (cb: (err?: Error | null) => void): void => {
    if (failure !== undefined) return cb();
    const handed = sink.flush();
    if (!handed) return cb();
    handed.then(() => cb(), (err: unknown) => {
      failure = err;
      cancelling ??= cancelCopy(q);
      cb();
    });
  };
  const writable = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (failure !== undefined || !sink.add(chunk)) return cb();
      hand(cb);
    },
    final: hand,
  });
  try {
    const readable = await q.readable();
    try {
      // The COPY's own end (or the cancel's error) came: the caller's failure is the one to report.
      await pipeline(readable, writable).catch((err: unknown) => { throw failure ?? err; });
      if (failure !== undefined) throw failure;
    } finally {
      // postgres.js 3.4.9 pauses the socket when a CopyData fills the stream's buffer and
      // resumes it only from _read(); if CopyDone came in the same chunk, the ended stream
      // never reads again and ReadyForQuery stays unread: the next statement on the
      // connection hangs (PITFALLS: a 1M-row COPY whose transaction never resolved).
      // On a connection the database ended, postgres.js has dropped the socket and this
      // throws (null.resume()): the connection's own error is the one to report.
      try {
        (readable as unknown as { _read?: (n: number) => void })._read?.(0);
      } catch { /* the connection is gone */ }
    }
  } catch (err) {
    if (err === failure) throw err;
    throw err instanceof DbError && !signal?.aborted ? err : cancelled(err, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await cancelTaken(cancelling);
  }
}

/** `COPY (select) TO STDOUT`, parsed into batches of rows of text values (or null). */
export async function copyOut(conn: ReservedSql, select: string, onRows: (rows: unknown[][]) => Promise<void>, signal?: AbortSignal): Promise<number> {
  const splitter = new LineSplitter();
  let count = 0;
  await copyOutInto(conn, `COPY (${select}) TO STDOUT`, {
    add(chunk) {
      splitter.add(chunk);
      return splitter.pending >= BATCH_ROWS;
    },
    flush() {
      const rows = splitter.lines().map((line) => line.split('\t').map(field));
      if (!rows.length) return undefined;
      count += rows.length;
      return onRows(rows);
    },
  }, signal);
  return count;
}

/** Bytes of whole rows handed on at a time (about a gzip chunk's worth). */
const LINES_BATCH_BYTES = 256 * 1024;
const CSV_QUOTE = 1;

/**
 * `COPY (select) TO STDOUT` in CSV form with a quote and a delimiter that are control
 * characters: a one-column SELECT of text without control characters (JSON lines)
 * then comes out byte for byte, one value and `\n` per row, with no escaping to undo:
 * the bytes go on as they are, with no string ever made of them. A quoted value
 * (CSV quotes one holding the quote, the delimiter or a line break) is refused.
 */
export async function copyOutLines(conn: ReservedSql, select: string, onBytes: (bytes: Buffer, rows: number) => Promise<void>, signal?: AbortSignal): Promise<number> {
  let chunks: Buffer[] = [];
  let size = 0;
  let count = 0;
  await copyOutInto(conn, `COPY (${select}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`, {
    add(chunk) {
      // One CopyData message per row.
      chunks.push(chunk);
      size += chunk.length;
      count++;
      return size >= LINES_BATCH_BYTES;
    },
    flush() {
      if (!size) return undefined;
      const bytes = Buffer.concat(chunks, size);
      const rows = chunks.length;
      chunks = [];
      size = 0;
      if (bytes.includes(CSV_QUOTE)) return Promise.reject(new DbError('INTERNAL', 'a backup line held a control character (COPY quoted it)'));
      return onBytes(bytes, rows);
    },
  }, signal);
  return count;
}

/**
 * A value as COPY text input: backslash, newline, carriage return and tab escaped; null as \N.
 * A tagged value of a backup line (an integer past 2^53, text kept as such) as its text;
 * bytes, in a column whose writer left them (no binary column's), are refused: their String()
 * was "[object Object]".
 */
function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : typeof v === 'object' && !Buffer.isBuffer(v) ? taggedText(v) : String(v);
  if (!/[\\\n\r\t]/.test(s)) return s;
  // JSON text is full of backslashes and has no raw control characters: split and join is native.
  if (!/[\n\r\t]/.test(s)) return s.split('\\').join('\\\\');
  return s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

function taggedText(v: object): string {
  if (isIntObject(v)) return v.int;
  if (isTextObject(v)) return v.text;
  throw new DbError('DATA_ERROR', `a value of the form {${Object.keys(v).map((k) => JSON.stringify(k)).join(', ')}} cannot be loaded into this column`);
}

/**
 * COPY text fields: a string without escapes is its own field (JSON strings hold no raw
 * tab, newline or backslash), and so is one whose escapes COPY reads alike (COPY takes a
 * backslash before any other character as that character: \" \\ \/ \b \f \n \r \t);
 * one with \u is parsed.
 */
export const COPY_FORM: JsonLineForm = {
  null: '\\N',
  separator: '\t',
  unlike: /\\[^"\\/bfnrt]/,
  body: (body) => body,
  value: (value) => copyText(value),
};

/**
 * JSON row lines (see LoadBatch.json) straight into COPY text lines, with no value made
 * of them (jsonLineFields, which takes no raw tab or carriage return either). Null for
 * anything else (whitespace, objects, another width): the caller parses then.
 */
export function jsonLinesToCopy(text: string, width: number): { text: string; rows: number } | null {
  let out = '';
  const rows = jsonLineFields(text, width, COPY_FORM, (fields) => { out += `${fields}\n`; });
  return rows === null ? null : { text: out, rows };
}

/** Batches as COPY text: their JSON lines transcoded where possible, else their rows encoded. */
async function* copyLines(batches: AsyncIterable<LoadBatch>, counter: { rows: number }): AsyncGenerator<string> {
  for await (const batch of batches) {
    const direct = batch.json === null ? null : jsonLinesToCopy(batch.json, batch.width);
    if (direct) {
      counter.rows += direct.rows;
      if (direct.text) yield direct.text;
      continue;
    }
    const rows = batch.rows();
    const out = rowsToCopy(rows);
    counter.rows += rows.length;
    if (out) yield out;
  }
}

/** Rows of load values as COPY text lines: a loop rather than map and join per row (a third less time for 1M rows). */
export function rowsToCopy(rows: unknown[][]): string {
  let out = '';
  for (const row of rows) {
    const n = row.length;
    for (let k = 0; k < n; k++) {
      const v = row[k];
      // -0 keeps its sign (String(-0) is "0"; float8in reads "-0" as negative zero).
      out += (k ? '\t' : '') + (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : copyText(v));
    }
    out += '\n';
  }
  return out;
}

/** `COPY target (columns) FROM STDIN` fed from the batches; values are text input forms or null. */
export async function copyIn(conn: ReservedSql, target: LoadTarget, batches: AsyncIterable<LoadBatch>, signal?: AbortSignal): Promise<number> {
  if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
  const q = conn.unsafe(`COPY ${target.table} (${target.columns.join(', ')}) FROM STDIN`);
  // A cancel also ends the wait for COPY's end (the server may still be working through its
  // last rows or a trigger), and the caller rolls back.
  let stop: (err: DbError) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => { stop = reject; });
  aborted.catch(() => undefined);
  let cancelling: Promise<void> | undefined;
  const onAbort = (): void => {
    cancelling ??= cancelCopy(q);
    stop(new DbError('CANCELLED', 'cancelled by the client'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const counter = { rows: 0 };
  // postgres.js 3.4.9 drops an error that arrives after the last chunk (a duplicate key
  // found at CopyDone): the stream's final callback then never runs. Its query's reject
  // still hears of it, so listen there.
  let failed: (err: unknown) => void = () => undefined;
  const serverError = new Promise<never>((_, reject) => { failed = reject; });
  serverError.catch(() => undefined);
  const query = q as unknown as { reject: (err: unknown) => void; resolve: (result: unknown) => void };
  const reject = query.reject;
  query.reject = (err) => { failed(err); reject(err); };
  // The server's own count of the rows it stored (CommandComplete `COPY n`), which
  // postgres.js puts on the query's result at ReadyForQuery. (It resolves the query twice:
  // first with the writable stream, at CopyInResponse, then with that result.)
  let stored: (result: { count?: number | null }) => void = () => undefined;
  const done = new Promise<{ count?: number | null }>((resolve) => { stored = resolve; });
  const resolve = query.resolve;
  query.resolve = (result) => {
    if ((result as { command?: string } | null)?.command === 'COPY') stored(result as { count?: number | null });
    resolve(result);
  };
  try {
    await Promise.race([pipeline(Readable.from(copyLines(batches, counter)), await q.writable()), serverError]);
    const { count } = await Promise.race([done, serverError, aborted]);
    if (target.exact && count !== counter.rows) {
      throw new DbError('INTERNAL', `the server stored ${count ?? 'an unknown number of'} rows of the ${counter.rows} sent to ${target.table}; nothing was restored`, { sent: counter.rows, stored: count ?? null });
    }
    return counter.rows;
  } catch (err) {
    throw err instanceof DbError && !signal?.aborted ? err : cancelled(err, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await cancelTaken(cancelling);
  }
}
