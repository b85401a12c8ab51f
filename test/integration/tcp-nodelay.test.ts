/**
 * Every TCP connection to a database sends its small messages at once (TCP_NODELAY).
 * With Nagle's algorithm on, a small write waits while earlier bytes are unacknowledged,
 * and the server acknowledges late (delayed ACK, 40 ms on Linux): after a COPY, the next
 * query of a restore waited ~40 ms for each table (PostgreSQL's log showed the gap after
 * each COPY; pg_restore had none). postgres.js leaves Nagle on; mysql2 turns it off.
 * Every socket opened while the calls run is recorded here (Socket.prototype.connect) and
 * asked what setNoDelay last set.
 */
import { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL } from '../support/backends.js';
import { mustCall, startInProcess } from '../support/mcp.js';

const opened: Socket[] = [];
const connect = Socket.prototype.connect;
Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
  opened.push(this);
  return (connect as (...a: unknown[]) => Socket).apply(this, args);
} as typeof Socket.prototype.connect;
afterAll(() => { Socket.prototype.connect = connect; });

/** What setNoDelay last set on the socket (Node keeps it under this symbol; undefined when never called). */
function noDelay(s: Socket): unknown {
  const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'kSetNoDelay');
  return key ? (s as unknown as Record<symbol, unknown>)[key] : undefined;
}

const cases = [['postgres', PG_URL], ['mysql', MYSQL_URL]].filter(([name]) => BACKENDS.some((b) => b.name === name));

describe.each(cases)('TCP_NODELAY on %s connections', (_backend, url) => {
  it('is set on every socket a call and a session open', async () => {
    opened.length = 0;
    const h = await startInProcess({ db: { url } });
    try {
      await mustCall(h.client, 'execute_query', { connection: 'db', query: 'SELECT 1' });
      await mustCall(h.client, 'get_schema', { connection: 'db' });
      // Only the database's sockets open here (the client is in memory).
      expect(opened.length).toBeGreaterThan(0);
      expect(opened.map(noDelay)).toEqual(opened.map(() => true));
    } finally {
      await h.close();
    }
  });
});
