/**
 * Bulk reads and writes on a pinned mysql2 connection. Reads stream row events and
 * pause the socket while the caller handles a batch (back-pressure, so memory stays
 * flat on any table size). Writes are multi-row INSERTs of escaped literals, each
 * statement kept well under max_allowed_packet.
 */
import type { PoolConnection } from 'mysql2';
import { DbError } from '../../../errors.js';
import type { LoadBatch, LoadTarget } from '../../dialect.js';
import { jsonLineFields, type JsonLineForm } from '../../backup/json-lines.js';
import { waitAtMost } from '../../limits.js';
import { fromMysqlError } from './errors.js';
import { closedWhy } from './socket.js';
import { serverLine, type MysqlRowLines } from './lines.js';
import { inUtc } from './values.js';

const BATCH_ROWS = 2000;
/** How long a stream or load waits for its KILL QUERY to be done before it answers. */
const KILL_WAIT_MS = 5000;

/**
 * Waits for a KILL QUERY on its way (none: nothing to wait for): one that reached the
 * server after its statement had ended interrupted whatever ran next on the connection (the
 * next call's backup, once: backup-enospc). Bounded: a server that does not answer the
 * control connection does not hold the call.
 */
const killDone = (killing: Promise<void> | undefined): Promise<void> => waitAtMost(killing, KILL_WAIT_MS);
/**
 * The largest INSERT we build; a smaller max_allowed_packet lowers it. 1 MiB loads as
 * fast as 4 MiB, and its tuples die young: at 4 MiB they (and the statement's string
 * and packet) were promoted and kept in V8's old space until a full collection (restore
 * peak RSS about 50 MB higher at 1M rows).
 */
const MAX_STATEMENT_BYTES = 1024 * 1024;

/** Each value as the bytes the server sent (no string is made of it), null as null. */
const asBytes = (field: { buffer(): Buffer | null }): Buffer | null => field.buffer();

/**
 * Streams a trusted SELECT (text protocol) in batches. `kill` stops the statement
 * server-side (KILL QUERY on the control connection) when the caller cancels or fails.
 * `bytes`: every value comes as a Buffer of what the server sent.
 */
export function streamRows(conn: PoolConnection, text: string, onRows: (rows: unknown[][]) => Promise<void>, kill: () => Promise<void>, signal?: AbortSignal, bytes = false): Promise<number> {
  return streamCommand(conn, text, (cmd, sink) => {
    let batch: unknown[][] = [];
    cmd.on('result', (row: unknown) => {
      if (sink.failed()) return;
      batch.push(row as unknown[]);
      sink.count++;
      if (batch.length >= BATCH_ROWS) {
        const rows = batch;
        batch = [];
        sink.hand(() => onRows(rows));
      }
    });
    return () => (batch.length ? onRows(batch) : Promise.resolve());
  }, kill, signal, bytes);
}

/** What a reader installed on a running query (streamCommand) hands its batches to. */
interface Sink {
  count: number;
  failed(): boolean;
  /** Hands a batch on: the socket pauses until `work` is done. */
  hand(work: () => Promise<void>): void;
  fail(err: unknown): void;
}

/**
 * Runs a trusted SELECT (text protocol) and lets `install` read its rows into `sink`;
 * `install` returns what flushes the last batch. Pauses the socket while a batch is
 * handled (back-pressure), kills the statement on a cancel or a failure, and watches the
 * socket, since mysql2 tells a command without a callback nothing when its connection dies.
 */
function streamCommand(conn: PoolConnection, text: string, install: (cmd: MysqlQuery, sink: Sink) => () => Promise<void>, kill: () => Promise<void>, signal: AbortSignal | undefined, bytes: boolean): Promise<number> {
  if (signal?.aborted) return Promise.reject(new DbError('CANCELLED', 'cancelled by the client'));
  return new Promise((resolve, reject) => {
    let failure: unknown;
    let handing: Promise<void> = Promise.resolve();
    let pending = 0;
    /** The KILL QUERY sent, if any: waited for before the connection runs anything else. */
    let killing: Promise<void> | undefined;
    const fail = (err: unknown): void => {
      if (failure) return;
      failure = err;
      conn.resume();
      killing = kill().catch(() => undefined);
    };
    const onAbort = (): void => fail(new DbError('CANCELLED', 'cancelled by the client'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const sink: Sink = {
      count: 0,
      failed: () => Boolean(failure),
      hand(work) {
        // Batches are handled in order; the socket resumes when the last one handed is done.
        pending++;
        conn.pause();
        handing = handing.then(work).then(() => { if (--pending === 0 && !failure) conn.resume(); }, fail);
      },
      fail,
    };
    const cmd = conn.query({ sql: text, rowsAsArray: true, ...(bytes ? { typeCast: asBytes as never } : {}) }) as unknown as MysqlQuery;
    const flush = install(cmd, sink);
    // mysql2 tells a command without a callback nothing when its connection dies (it emits
    // on the connection): a database that died mid-backup left the stream waiting forever.
    // Watch the socket and the connection, as execute() does.
    const socket = (conn as unknown as { stream?: NodeJS.EventEmitter }).stream;
    const onClosed = (): void => settle(closedWhy(socket));
    socket?.once('close', onClosed);
    conn.once('error', onClosed);
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      socket?.removeListener('close', onClosed);
      conn.removeListener('error', onClosed);
      signal?.removeEventListener('abort', onAbort);
      void handing.then(async () => {
        if (!err && !failure) await flush().catch(fail);
        await killDone(killing);
        const e = failure ?? err;
        if (e) reject(e instanceof DbError ? e : fromMysqlError(e));
        else resolve(sink.count);
      });
    };
    cmd.on('error', (err: unknown) => settle(err ?? new Error('unknown driver error')));
    cmd.on('end', () => settle());
  });
}

/** The parts of mysql2's Query command (3.x) and its packets the line reader uses. */
interface MysqlPacket {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
}
type RowState = (packet: MysqlPacket, connection: unknown) => unknown;
interface MysqlQuery extends NodeJS.EventEmitter {
  row?: RowState;
}

/** Lines are gathered into buffers of about this size before they are handed on. */
const LINE_BATCH_BYTES = 256 * 1024;

/**
 * Streams a SELECT of one text column whose values are lines (Session.streamLines): each
 * batch handed on as the lines' bytes, each followed by a newline.
 *
 * The rows are read from mysql2's packets directly: its Query command asks `this.row` for
 * the state that reads a row, so a `row` of the command's own takes each row packet and
 * writes its line into the batch (`lines`, or the one value a server-built SELECT sends:
 * lines.ts serverLine), with no row parser, no Buffer and no array a row (a third of the CPU of a backup of a narrow table went there). The end
 * of the rows (EOF) is left to mysql2's own state. package.json pins mysql2 for this;
 * test/integration/mysql-stream-lines.test.ts holds the bytes equal to mysql2's reading.
 */
export function streamLines(conn: PoolConnection, text: string, onBytes: (bytes: Buffer, rows: number) => Promise<void>, kill: () => Promise<void>, signal?: AbortSignal, lines?: MysqlRowLines): Promise<number> {
  return streamCommand(conn, text, (cmd, sink) => {
    const own = Object.getPrototypeOf(cmd) as MysqlQuery;
    if (typeof own.row !== 'function') {
      sink.fail(new DbError('INTERNAL', 'this mysql2 reads rows in a way the backup reader does not know (it needs the Query command of mysql2 3.24)'));
      return () => Promise.resolve();
    }
    const endOfRows = own.row;
    const writer = lines ?? serverLine;
    let out = Buffer.allocUnsafe(LINE_BATCH_BYTES);
    let at = 0;
    let rows = 0;
    const hand = (): void => {
      const bytes = out.subarray(0, at);
      const n = rows;
      out = Buffer.allocUnsafe(LINE_BATCH_BYTES);
      at = 0;
      rows = 0;
      sink.hand(() => onBytes(bytes, n));
    };
    const row: RowState = function (this: MysqlQuery, packet, connection) {
      if (packet.isEOF()) return endOfRows.call(this, packet, connection);
      if (sink.failed()) return row;
      // The row's values made into a line: by the backend (lines.ts), or the one the server built.
      const room = writer.room(packet.end - packet.offset);
      if (at + room > out.length) {
        if (at) hand();
        if (room > out.length) out = Buffer.allocUnsafe(room);
      }
      try {
        at = writer.write(packet.buffer, packet.offset, packet.end, out, at);
      } catch (err) {
        sink.fail(new DbError('INTERNAL', `a row could not be made into a backup line: ${(err as Error).message}`));
        return row;
      }
      rows++;
      sink.count++;
      if (at >= LINE_BATCH_BYTES - 256) hand();
      return row;
    };
    cmd.row = row;
    return () => (at ? onBytes(out.subarray(0, at), rows) : Promise.resolve());
  }, kill, signal, true);
}

const ESCAPES: Record<string, string> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\t': '\\t', '\x1a': '\\Z', '\\': '\\\\', "'": "\\'" };

/** A literal for our sessions (backslash escapes on: sessionSql in pool.ts removes NO_BACKSLASH_ESCAPES). */
export function mysqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  switch (typeof v) {
    case 'string': return `'${v.replace(/[\0\n\r\b\t\x1a\\']/g, (c) => ESCAPES[c])}'`;
    case 'bigint': return v.toString();
    case 'boolean': return v ? 'TRUE' : 'FALSE';
    case 'number':
      if (!Number.isFinite(v)) throw new DbError('DATA_ERROR', `MySQL cannot store the number ${v}`);
      return String(v);
    default:
      if (Buffer.isBuffer(v)) return `X'${v.toString('hex')}'`;
      throw new DbError('DATA_ERROR', `cannot write a ${typeof v} value to MySQL`);
  }
}

/** A string's body as a literal: a quote escaped (JSON has none escaped); MySQL reads JSON's other escapes alike, unless `unlike`. */
const quoted = (body: string): string => `'${body.includes("'") ? body.replaceAll("'", "\\'") : body}'`;

/**
 * INSERT fields of JSON lines (jsonLineFields): MySQL reads \" \\ \/ \b \n \r \t as
 * JSON does (a backslash before another character is dropped), but \f as f and \u not
 * at all, so strings with those are parsed. `zoned` columns (timestamptz) are written in
 * UTC without a zone, as their writer (values.ts inUtc) writes them: MariaDB reads no zone designator.
 */
export function insertForm(kinds: readonly string[] | undefined): JsonLineForm {
  const zoned = (kinds ?? []).map((k) => k === 'timestamptz');
  const unzoned = (v: string, k: number): string => (zoned[k] ? inUtc(v) : v);
  return {
    null: 'NULL',
    separator: ',',
    unlike: /\\[^"\\/bnrt]/,
    body: (body, k) => quoted(unzoned(body, k)),
    value: (value, k) => mysqlLiteral(unzoned(value, k)),
  };
}

/** A batch's rows as INSERT tuples: from its JSON lines where they transcode, else from its values. */
function tuples(batch: LoadBatch, form: JsonLineForm): string[] {
  if (batch.json !== null) {
    const out: string[] = [];
    if (jsonLineFields(batch.json, batch.width, form, (fields) => { out.push(`(${fields})`); }) !== null) return out;
  }
  return batch.rows().map((r) => `(${r.map(mysqlLiteral).join(',')})`);
}

function query(conn: PoolConnection, text: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => conn.query(text, (err, rows) => (err ? reject(fromMysqlError(err)) : resolve(rows as unknown[]))));
}

/**
 * Multi-row INSERTs, each under the server's max_allowed_packet. The next statement is
 * built (its batch decoded, its tuples written) while the server runs the one before, so
 * our work and the server's overlap; it is sent only once that one has succeeded, so no
 * statement ever runs after a failure (an InnoDB deadlock or a Galera conflict rolls back
 * the whole transaction, and a statement queued behind it would run with autocommit).
 * A cancel stops the statement running (`kill`: KILL QUERY on the control connection) and
 * sends no other. Nothing of ours is left running when this returns or throws, a KILL
 * included; the first failure in time is the one thrown.
 */
export async function insertRows(conn: PoolConnection, target: LoadTarget, batches: AsyncIterable<LoadBatch>, signal?: AbortSignal, kill?: () => Promise<void>): Promise<number> {
  const [row] = (await query(conn, 'SELECT @@max_allowed_packet AS m')) as Array<{ m: number }>;
  const packet = Number(row?.m ?? 1024 * 1024);
  // Sizes are counted in UTF-16 units, which take at most 3 bytes each in UTF-8.
  const limit = Math.max(1, Math.min(MAX_STATEMENT_BYTES, Math.floor((packet - 1024) / 3)));
  const head = `INSERT INTO ${target.table} (${target.columns.join(', ')}) VALUES `;
  const form = insertForm(target.kinds);
  let values: string[] = [];
  let size = head.length;
  let count = 0;
  /** The statement the server runs; it never rejects (its error is kept), and `outcome` is undefined until it settles. */
  let running: Promise<unknown> = Promise.resolve();
  let outcome: { err: unknown } | null | undefined = null;
  let killing: Promise<void> | undefined;
  const onAbort = (): void => {
    if (outcome === undefined && kill) killing = kill().catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const cancelled = (): DbError => new DbError('CANCELLED', 'cancelled by the client');
  const ran = async (): Promise<void> => {
    await running;
    if (outcome) throw signal?.aborted ? cancelled() : outcome.err;
  };
  const flush = async (): Promise<void> => {
    if (!values.length) return;
    const text = head + values.join(',');
    values = [];
    size = head.length;
    await ran();
    if (signal?.aborted) throw cancelled();
    outcome = undefined;
    running = query(conn, text).then(() => { outcome = null; }, (err: unknown) => { outcome = { err }; });
  };
  try {
    for await (const batch of batches) {
      for (const tuple of tuples(batch, form)) {
        if (tuple.length + head.length > limit && Buffer.byteLength(tuple) + head.length > packet - 1024) {
          throw new DbError('DATA_ERROR', `a row of ${Buffer.byteLength(tuple)} bytes as SQL is larger than the server's max_allowed_packet (${packet}); raise it to restore this table`);
        }
        if (size + tuple.length + 1 > limit) await flush();
        values.push(tuple);
        size += tuple.length + 1;
        count++;
      }
    }
    await flush();
    await ran();
    if (signal?.aborted) throw cancelled();
  } catch (err) {
    // The statement's own failure, when it had failed before this error was found, is the first.
    const before = outcome as { err: unknown } | null | undefined;
    await running;
    throw before ? (signal?.aborted ? cancelled() : before.err) : err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await killDone(killing);
  }
  return count;
}
