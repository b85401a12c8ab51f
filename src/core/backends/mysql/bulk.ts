/**
 * Bulk reads and writes on a pinned mysql2 connection. Reads stream row events and
 * pause the socket while the caller handles a batch (back-pressure, so memory stays
 * flat on any table size). Writes are multi-row INSERTs of escaped literals, each
 * statement kept well under max_allowed_packet.
 */
import type { PoolConnection } from 'mysql2';
import { DbError } from '../../../errors.js';
import type { LoadBatch, LoadTarget } from '../../dialect.js';
import { fromMysqlError } from './errors.js';

const BATCH_ROWS = 2000;
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
  if (signal?.aborted) return Promise.reject(new DbError('CANCELLED', 'cancelled by the client'));
  return new Promise((resolve, reject) => {
    let batch: unknown[][] = [];
    let count = 0;
    let failure: unknown;
    let handing: Promise<void> = Promise.resolve();
    const fail = (err: unknown): void => {
      if (failure) return;
      failure = err;
      conn.resume();
      void kill().catch(() => undefined);
    };
    const onAbort = (): void => fail(new DbError('CANCELLED', 'cancelled by the client'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const hand = (): void => {
      const rows = batch;
      batch = [];
      conn.pause();
      handing = onRows(rows).then(() => { if (!failure) conn.resume(); }, fail);
    };
    const cmd = conn.query({ sql: text, rowsAsArray: true, ...(bytes ? { typeCast: asBytes as never } : {}) });
    // mysql2 tells a command without a callback nothing when its connection dies (it emits
    // on the connection): a database that died mid-backup left the stream waiting forever.
    // Watch the socket and the connection, as execute() does.
    const socket = (conn as unknown as { stream?: NodeJS.EventEmitter }).stream;
    const onClosed = (): void => settle(new DbError('CONNECTION_LOST', 'the connection to the database was lost', { driver_code: 'CONNECTION_CLOSED' }));
    socket?.once('close', onClosed);
    conn.once('error', onClosed);
    cmd.on('result', (row: unknown) => {
      if (failure) return;
      batch.push(row as unknown[]);
      count++;
      if (batch.length >= BATCH_ROWS) hand();
    });
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      socket?.removeListener('close', onClosed);
      conn.removeListener('error', onClosed);
      signal?.removeEventListener('abort', onAbort);
      void handing.then(async () => {
        if (!err && !failure && batch.length) await onRows(batch).catch(fail);
        const e = failure ?? err;
        if (e) reject(e instanceof DbError ? e : fromMysqlError(e));
        else resolve(count);
      });
    };
    cmd.on('error', (err: unknown) => settle(err ?? new Error('unknown driver error')));
    cmd.on('end', () => settle());
  });
}

const NEWLINE = Buffer.from('\n');

/**
 * Streams a SELECT of one text column whose values are lines (Session.streamLines): each
 * batch handed on as the lines' bytes, each followed by a newline.
 */
export function streamLines(conn: PoolConnection, text: string, onBytes: (bytes: Buffer, rows: number) => Promise<void>, kill: () => Promise<void>, signal?: AbortSignal): Promise<number> {
  return streamRows(conn, text, (rows) => {
    const parts: Buffer[] = [];
    for (const row of rows) parts.push(row[0] as Buffer, NEWLINE);
    return onBytes(Buffer.concat(parts), rows.length);
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

function query(conn: PoolConnection, text: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => conn.query(text, (err, rows) => (err ? reject(fromMysqlError(err)) : resolve(rows as unknown[]))));
}

/** Multi-row INSERTs, each under the server's max_allowed_packet. */
export async function insertRows(conn: PoolConnection, target: LoadTarget, batches: AsyncIterable<LoadBatch>, signal?: AbortSignal): Promise<number> {
  const [row] = (await query(conn, 'SELECT @@max_allowed_packet AS m')) as Array<{ m: number }>;
  const packet = Number(row?.m ?? 1024 * 1024);
  // Sizes are counted in UTF-16 units, which take at most 3 bytes each in UTF-8.
  const limit = Math.min(MAX_STATEMENT_BYTES, Math.max(16 * 1024, Math.floor((packet - 64 * 1024) / 3)));
  const head = `INSERT INTO ${target.table} (${target.columns.join(', ')}) VALUES `;
  let values: string[] = [];
  let size = head.length;
  let count = 0;
  const flush = async (): Promise<void> => {
    if (!values.length) return;
    if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    const text = head + values.join(',');
    values = [];
    size = head.length;
    await query(conn, text);
  };
  for await (const batch of batches) {
    for (const r of batch.rows()) {
      const tuple = `(${r.map(mysqlLiteral).join(',')})`;
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
  return count;
}
