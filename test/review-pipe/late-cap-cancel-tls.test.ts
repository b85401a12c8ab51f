/**
 * Review of 1a63818. SPEC "Result caps": "A cancel request that arrives after its
 * statement ended lands on that call's own COMMIT or on a pg_sleep(0.02) sent to absorb
 * it, never on a later call." The absorber waits 20 ms; the cancel request needs a
 * connection of its own: TCP handshake, and with sslmode=require an SSLRequest and a TLS
 * handshake, each a round trip, before its 16 bytes. Against a server 60 ms away (a hosted
 * database over TLS) the cancel of a read a few rows over the cap arrives ~3.5 round trips
 * after the rows, when the absorber is long over and the NEXT call is running: a write
 * that takes a moment fails (57014, no cancel of its own), every other time or so.
 *
 * The distance is a TCP proxy in the test that delays each byte 30 ms each way and each
 * new connection by one round trip (its handshake); the TLS is PostgreSQL's own.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../faults/private-db.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;
const ONE_WAY_MS = 30;

/** A TCP proxy to 127.0.0.1:`target` that makes it look `ONE_WAY_MS` away. */
function distantProxy(target: number): Promise<{ port: number; close(): void }> {
  const delayed = (from: Socket, to: Socket, notBefore: number): void => {
    let last = 0;
    from.on('data', (chunk) => {
      const at = Math.max(Date.now() + ONE_WAY_MS, notBefore, last);
      last = at;
      setTimeout(() => { if (!to.destroyed) to.write(chunk); }, at - Date.now());
    });
    from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, last - Date.now()) + ONE_WAY_MS));
    from.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    // A new connection costs a round trip (its TCP handshake) before its first byte arrives.
    const ready = Date.now() + 3 * ONE_WAY_MS;
    const upstream = createConnection(target, '127.0.0.1');
    delayed(client, upstream, ready);
    delayed(upstream, client, 0);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, close: () => server.close() })));
}

describe.skipIf(!root)('a cancel sent at the cap, against a distant server over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-rvpipe-tls-'));
  const data = join(dir, 'data');
  const asPostgres = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });
  let h: Harness;
  let proxy: { port: number; close(): void } | undefined;

  beforeAll(async () => {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
    const port = await freePort();
    await asPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await asPostgres(['sh', '-c', `cd ${data} && openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 2 -subj /CN=127.0.0.1 2>/dev/null && chmod 600 server.key`]);
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n');
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key`;
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    proxy = await distantProxy(port);
    h = await startInProcess({ far: { url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres?sslmode=require`, pool_size: 1 } });
    await mustCall(h.client, 'execute_query', { connection: 'far', query: 'CREATE TABLE marks (id serial PRIMARY KEY, who text NOT NULL)' });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    proxy?.close();
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('never reaches the next call: a write right after a capped read commits', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 8; i++) {
      // Two rows over the cap: the statement has ended by the time the cancel request lands.
      const r = await mustCall(h.client, 'execute_query', { connection: 'far', query: 'SELECT g FROM generate_series(1, 12) AS g', max_rows: 10 });
      expect(r.truncated).toBe(true);
      // A write that takes 300 ms (a lock wait, a trigger, a big table): nothing cancels it.
      const w = await callTool(h.client, 'execute_query', { connection: 'far', query: "INSERT INTO marks (who) SELECT 'after-cap' FROM pg_sleep(0.3)" });
      if (!w.ok) failures.push(`${w.error.code}: ${w.error.message}`);
    }
    expect(failures).toEqual([]);
    const n = await mustCall(h.client, 'execute_query', { connection: 'far', query: "SELECT count(*)::int FROM marks WHERE who = 'after-cap'" });
    expect(n.rows).toEqual([[8]]);
  }, 120_000);
});
