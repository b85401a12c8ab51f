/**
 * The sockets mysql2 connects through (its `stream` option), with a bound on one
 * protocol message. mysql2 joins the 16 MB packets of a large row into one buffer
 * before parsing it; the server's max_allowed_packet bounds that (16 MB on MariaDB
 * 10.11 here, 64 MB on MySQL 8, up to 1 GB if an operator raised it), and this bounds it
 * on our side whatever the server's setting: the packet headers (3-byte length,
 * 1-byte sequence) come first, and a message over the bound destroys the socket before
 * its body is read; the command gets RESULT_TOO_LARGE. Over TLS the bytes seen here are
 * encrypted, so the bound is not applied there (SPEC §7).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { DbError } from '../../../errors.js';
import { watchFrames } from '../frames.js';

/** The parts of mysql2's connection options the factory reads. */
interface MysqlStreamOptions {
  config: { host?: string; port?: number; socketPath?: string; ssl?: unknown; enableKeepAlive?: boolean; keepAliveInitialDelay?: number };
}

/** Why the guard destroyed a socket, for the calls that see only its close (closedWhy). */
const destroyedBy = new WeakMap<object, DbError>();

/**
 * What a call on a connection whose socket closed should answer: the guard's own error
 * (RESULT_TOO_LARGE) when it destroyed the socket, else CONNECTION_LOST.
 */
export function closedWhy(socket: object | undefined): DbError {
  return (socket && destroyedBy.get(socket)) || new DbError('CONNECTION_LOST', 'the connection to the database was lost', { driver_code: 'CONNECTION_CLOSED' });
}

/** A packet of this length continues in the next one. */
const CONTINUED = 0xffffff;

export function mysqlSocketFactory(maxMessageBytes: number): (opts: MysqlStreamOptions) => Socket {
  return ({ config }) => {
    const socket = config.socketPath ? netConnect(config.socketPath) : netConnect(config.port ?? 3306, config.host ?? 'localhost');
    // What mysql2 does for the sockets it opens itself.
    if (!config.socketPath) {
      socket.setNoDelay(true);
      if (config.enableKeepAlive) socket.once('connect', () => socket.setKeepAlive(true, config.keepAliveInitialDelay ?? 0));
    }
    if (!config.ssl) watchPackets(socket, maxMessageBytes);
    return socket;
  };
}

/** Judges each packet header ahead of mysql2: a message over the bound destroys the socket. */
function watchPackets(socket: Socket, maxMessageBytes: number): void {
  let message = 0; // bytes of the current message so far (packets of 0xffffff continue it)
  watchFrames(socket, 4, (header) => {
    // (Read by hand: readUIntLE checks its arguments at every one of a backup's packets.)
    const length = header[0]! | (header[1]! << 8) | (header[2]! << 16);
    message += length;
    if (message > maxMessageBytes) {
      const err = new DbError(
        'RESULT_TOO_LARGE',
        `the database sent one message (a row or a value) of more than ${maxMessageBytes} bytes; select less (SUBSTR(), LENGTH(), a LIMIT) — the connection was dropped and replaced`,
        { message_bytes_at_least: message, max_message_bytes: maxMessageBytes, connection_dropped: true },
      );
      destroyedBy.set(socket, err);
      socket.destroy(err);
      return null;
    }
    if (length < CONTINUED) message = 0;
    return length;
  });
}
