/**
 * The sockets a postgres.js pool connects through (its `socket` option), so that the
 * pool cannot outlive a failure or read an unbounded message:
 *
 * - postgres.js reconnects at once, for ever, when a socket closes while a connection
 *   is being opened; against a port that accepts TCP but is not PostgreSQL (a Redis, an
 *   HTTP server) that was ~2,000 connections a second, and the call never ended. Here the
 *   first answer that is not a PostgreSQL startup message, or a close before any, fails
 *   the attempt with CONNECTION_FAILED and stops the guard: no further socket is opened.
 * - postgres.js reads a whole message before parsing it (a 300 MB value: ~1.5 GB). The
 *   header (1 type byte + int32 length) comes first: a message over the bound destroys
 *   the socket at once, before its body is read, and its query gets RESULT_TOO_LARGE.
 *
 * - postgres.js sends a cancel request on a connection of its own from this factory; with a
 *   host list in the URL it goes to the host of the session it names (by the pid and secret of
 *   the session's BackendKeyData), not to the next host in turn.
 * - An ErrorResponse after which the peer closes the session (a FATAL, a pooler's refusal)
 *   is kept as the reason (recentCloses), which pool.ts adds to the CONNECTION_CLOSED that
 *   postgres.js gives the session's statements when no other session closed near it.
 *
 * All four read the plain protocol; over TLS the bytes seen here are encrypted, so only the
 * stop and the connect deadline apply there (SPEC §7).
 */
import { Socket } from 'node:net';
import { DbError } from '../../../errors.js';
import { watchFrames } from '../frames.js';

/** The parts of postgres.js' parsed options the factory reads. */
interface PgSocketOptions {
  host: string[];
  port: number[];
  /** A Unix socket path, or false. */
  path?: string | false;
  ssl?: unknown;
}

export interface PgSocketGuard {
  /** The postgres.js `socket` option. */
  socket(options: PgSocketOptions): Socket;
  /** No socket is opened any more (the pool is retired or closed). */
  stop(): void;
  /**
   * The last sessions of this guard that closed once up (at most RECENT_CLOSES), newest
   * last: when, and why if the peer said so first (an ErrorResponse no ReadyForQuery
   * followed: a FATAL, a pooler's refusal).
   */
  recentCloses(): readonly SessionClose[];
}

export interface ServerError {
  sqlstate: string;
  message: string;
}

export interface SessionClose {
  /** Date.now() at the close. */
  at: number;
  reason?: ServerError;
}

const RECENT_CLOSES = 8;

/** Message types a server may send before its first ReadyForQuery. */
const STARTUP_TYPES = new Set(['R', 'E', 'S', 'K', 'Z', 'N', 'v']);
/** No startup message is anywhere near this long: a bigger one means another protocol. */
const STARTUP_MAX_BYTES = 1 << 20;

export function pgSocketGuard(maxMessageBytes: number): PgSocketGuard {
  let stopped: DbError | undefined;
  let next = 0;
  const stop = (why: DbError): void => { stopped ??= why; };
  /**
   * Which host of the URL's list each open session is on, by its backend key (pid and
   * secret, from its BackendKeyData: two hosts may well give the same pid): a cancel request
   * opens a connection of its own, and must reach that host, not the next one in turn.
   * Known for sessions without TLS only (the bytes are read here).
   */
  const hostOfKey = new Map<string, number>();
  const closes: SessionClose[] = [];
  return {
    recentCloses: () => closes,
    // A retired pool's sessions count as lost (a read is retried on the fresh pool, recovery.ts).
    // driver_code POOL_RETIRED: nothing ran on the server, so a retry does not count it as a lost execution.
    stop: () => stop(new DbError('CONNECTION_LOST', 'the connection to the database was lost; its pool was replaced or closed', { driver_code: 'POOL_RETIRED' })),
    socket(options) {
      let i = next++ % Math.max(1, options.host.length);
      let host = options.host[i] ?? 'localhost';
      let port = options.port[i] ?? options.port[0] ?? 5432;
      const where = options.path || `${host}:${port}`;
      const socket = new Socket();
      // postgres.js names the endpoint in its errors (and TLS' servername) from these.
      Object.assign(socket, { host, port });
      // Connected on the first write, once we know what it is: a cancel request (for a query
      // still running on a retired pool) always goes out; a new session only while not stopped.
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      socket.write = ((...args: unknown[]) => {
        socket.write = write as Socket['write'];
        const cancel = isCancelRequest(args[0]);
        if (!cancel && stopped) {
          socket.destroy(stopped);
          return false;
        }
        // CancelRequest: length, code, then the backend key (pid, secret) it names.
        const to = cancel ? hostOfKey.get((args[0] as Buffer).subarray(8, 16).toString('hex')) : undefined;
        if (to !== undefined && to !== i) {
          i = to;
          host = options.host[i] ?? host;
          port = options.port[i] ?? options.port[0] ?? port;
          Object.assign(socket, { host, port });
        }
        // Nagle off, as mysql2 does for its sockets: with it on, a query written right after a
        // COPY waited for the server's delayed ACK (~40 ms per table of a restore).
        if (options.path) socket.connect(options.path);
        else socket.connect(port, host).setNoDelay(true);
        if (!cancel && !tlsRequested(options.ssl)) {
          const at = i;
          watchMessages(socket, maxMessageBytes, where, stop, (backendKey) => {
            hostOfKey.set(backendKey, at);
            socket.once('close', () => { hostOfKey.delete(backendKey); });
          }, (reason) => {
            closes.push(reason ? { at: Date.now(), reason } : { at: Date.now() });
            if (closes.length > RECENT_CLOSES) closes.shift();
          });
        }
        return write(...args);
      }) as Socket['write'];
      return socket;
    },
  };
}

/** CancelRequest: int32 length 16, int32 code 80877102. */
function isCancelRequest(chunk: unknown): boolean {
  return Buffer.isBuffer(chunk) && chunk.length === 16 && chunk.readUInt32BE(4) === 80877102;
}

function tlsRequested(ssl: unknown): boolean {
  return ssl !== undefined && ssl !== false && ssl !== 'disable';
}

/**
 * Reads message headers ahead of postgres.js (a listener prepended to its own) and
 * destroys the socket when a message is over the bound or the peer is not PostgreSQL.
 */
function watchMessages(socket: Socket, maxMessageBytes: number, where: string, stop: (e: DbError) => void, onBackend: (backendKey: string) => void, onSessionClose: (reason: ServerError | undefined) => void): void {
  let ready = false;
  let spoke = false; // the peer sent at least one well-formed startup message (an ErrorResponse during a restart, say)
  let connected = false;
  socket.once('connect', () => { connected = true; });
  const refuse = (err: DbError): null => {
    if (!ready) stop(err);
    socket.destroy(err);
    return null;
  };
  // The last ErrorResponse of a session not yet followed by a ReadyForQuery: if the peer then
  // closes, it is why (a server's FATAL, a pooler's refusal), which postgres.js drops for a
  // bare CONNECTION_CLOSED. Only noted: the socket's close takes postgres.js' own path.
  let unanswered: ServerError | undefined;
  watchFrames(socket, 5, (header) => {
    const type = String.fromCharCode(header[0]!);
    const bytes = header.readUInt32BE(1) - 4;
    if (!ready && (!STARTUP_TYPES.has(type) || bytes < 0 || bytes > STARTUP_MAX_BYTES)) return refuse(notPostgres(where));
    if (bytes > maxMessageBytes) return refuse(tooLarge(bytes, maxMessageBytes));
    spoke = true;
    if (type === 'Z') {
      ready = true;
      unanswered = undefined;
    }
    return bytes;
  }, {
    // BackendKeyData: the session's pid and secret, which a cancel request names; and, once
    // the session is up, ErrorResponses short enough to be a reason (their fields, not rows).
    wanted: (header) => (!ready && header[0] === 0x4b && header.readUInt32BE(1) === 12) || (ready && header[0] === 0x45 && header.readUInt32BE(1) <= ERROR_READ_BYTES),
    read: (header, body) => {
      if (header[0] === 0x4b) onBackend(body.toString('hex'));
      else unanswered = serverError(body);
    },
  });
  socket.once('close', () => {
    if (ready) onSessionClose(unanswered);
    // Only a peer that took the connection and said nothing PostgreSQL-like: a refused
    // connection or a server that answered with an error (shutting down) is not "another service".
    if (!ready && connected && !spoke) stop(new DbError('CONNECTION_FAILED', `${where} closed the connection before completing the PostgreSQL startup; is it a PostgreSQL server?`, { endpoint: where, peer_closed: true }));
  });
}

/** An ErrorResponse longer than this is not read as a close reason (it is still passed on). */
const ERROR_READ_BYTES = 8192;

/** The C (SQLSTATE) and M (message) fields of an ErrorResponse body. */
function serverError(body: Buffer): ServerError {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    if (end < 0) break;
    fields.set(String.fromCharCode(body[at]!), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  // Bounded: a hostile peer's fields reach answers (pool.ts closedReason).
  return { sqlstate: (fields.get('C') ?? '').slice(0, 5), message: fields.get('M') ?? '' };
}

function notPostgres(where: string): DbError {
  return new DbError('CONNECTION_FAILED', `${where} did not answer as a PostgreSQL server (another service on that port?)`, { endpoint: where });
}

function tooLarge(bytes: number, max: number): DbError {
  return new DbError(
    'RESULT_TOO_LARGE',
    `the database sent one message (a row or a value) of ${bytes} bytes, over the ${max} byte bound; select less (substr(), length(), a LIMIT) — the connection was dropped and replaced`,
    { message_bytes: bytes, max_message_bytes: max, connection_dropped: true },
  );
}
