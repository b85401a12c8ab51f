/**
 * review-last (dd6b24b): the socket factory routes a cancel request by the pid of the
 * session it names (hostOfPid, keyed by pid only). Two hosts of one URL are two servers,
 * each with its own pid space (two containers, two machines): the same backend pid on both
 * is ordinary (containers start their backends at the same low pids). The cancel request
 * also carries the session's secret key, which tells the two apart; keyed by pid alone, the
 * second session's BackendKeyData overwrites the first's entry and the first session's
 * cancel goes to the other host, where the server ignores it (wrong secret): the statement
 * runs on past its timeout or cap. The two servers here are minimal PostgreSQL startup
 * responders (AuthenticationOk, BackendKeyData, ReadyForQuery) that record cancel requests.
 */
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSocketGuard } from '../../src/core/backends/postgres/socket.js';

const PID = 4242;

interface Fake { server: Server; port: number; secret: number; cancels: Array<{ pid: number; secret: number }>; sockets: NetSocket[] }

function msg(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}
const int32s = (...n: number[]): Buffer => { const b = Buffer.alloc(4 * n.length); n.forEach((v, k) => b.writeUInt32BE(v, 4 * k)); return b; };

async function fake(secret: number): Promise<Fake> {
  const f: Fake = { server: createServer(), port: 0, secret, cancels: [], sockets: [] };
  f.server.on('connection', (s) => {
    f.sockets.push(s);
    s.once('data', (first) => {
      if (first.length >= 16 && first.readUInt32BE(4) === 80877102) {
        f.cancels.push({ pid: first.readUInt32BE(8), secret: first.readUInt32BE(12) });
        s.end();
        return;
      }
      s.write(Buffer.concat([msg('R', int32s(0)), msg('K', int32s(PID, secret)), msg('Z', Buffer.from('I'))]));
    });
  });
  await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', () => r()));
  f.port = (f.server.address() as { port: number }).port;
  return f;
}

const startup = (): Buffer => {
  const params = Buffer.from('user\0postgres\0database\0x\0\0', 'latin1');
  return Buffer.concat([int32s(params.length + 8, 196608), params]);
};
const cancelRequest = (pid: number, secret: number): Buffer => int32s(16, 80877102, pid, secret);

/** A session through the factory: writes the startup message and waits for ReadyForQuery. */
async function session(guard: ReturnType<typeof pgSocketGuard>, options: Parameters<ReturnType<typeof pgSocketGuard>['socket']>[0]): Promise<NetSocket> {
  const s = guard.socket(options);
  const ready = new Promise<void>((resolve, reject) => {
    let got = Buffer.alloc(0);
    s.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); if (got.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve(); });
    s.once('error', reject);
  });
  s.write(startup());
  await ready;
  return s;
}

describe('cancel routing with a host list: the same backend pid on two hosts', () => {
  let a: Fake;
  let b: Fake;
  beforeAll(async () => { a = await fake(1111); b = await fake(2222); });
  afterAll(async () => {
    for (const f of [a, b]) { for (const s of f?.sockets ?? []) s.destroy(); await new Promise((r) => f?.server.close(r)); }
  });

  it("a cancel of the first host's session reaches the first host, not the host whose session has the same pid", async () => {
    const guard = pgSocketGuard(64 << 20);
    const options = { host: ['127.0.0.1', '127.0.0.1'], port: [a.port, b.port], path: false as const, ssl: false };
    const onA = await session(guard, options); // host 0 (a): pid 4242, secret 1111
    const onB = await session(guard, options); // host 1 (b): pid 4242, secret 2222
    // postgres.js cancels the session on a: a new socket from the factory, the cancel request its first write.
    const c = guard.socket(options);
    c.on('error', () => undefined);
    c.write(cancelRequest(PID, a.secret));
    await new Promise((r) => setTimeout(r, 300));
    const where = { a: a.cancels.length, b: b.cancels.length };
    onA.destroy(); onB.destroy(); c.destroy();
    expect(where).toEqual({ a: 1, b: 0 });
  });
});
