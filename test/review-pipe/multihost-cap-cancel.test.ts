/**
 * Review of 1a63818: a pure read stopped at the cap by a cancel request. With a host list
 * in the URL (README "Standby": the driver picks the server from a list of hosts), the
 * cancel request goes out on a new socket from the pool's socket factory (socket.ts),
 * which picks hosts round robin by a counter of its own, not the host the connection to
 * cancel is on: every other cancel request goes to the other server (wrong backend key,
 * ignored there) and the read is not stopped at the cap. It then streams to its end or
 * runs into the statement timeout (TIMEOUT), where before the change a portal stopped it.
 */
import { mkdtempSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { osUser, pgBin, runAsPostgres, freePort } from '../faults/private-db.js';

const root = process.getuid?.() === 0;

/** A private PostgreSQL listening on `addr`:`port` (two servers share a port on 127.0.0.1 and 127.0.0.2). */
async function server(addr: string, port: number): Promise<{ stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-rvpipe-'));
  chownSync(dir, osUser('-u', 'postgres'), osUser('-g', 'postgres'));
  const data = join(dir, 'data');
  await runAsPostgres([pgBin('initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=${addr} -c fsync=off -c max_connections=20`;
  await runAsPostgres([pgBin('pg_ctl'), '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  return {
    async stop() {
      await runAsPostgres([pgBin('pg_ctl'), '-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!root)('a capped read through a URL with a host list', () => {
  const servers: Array<{ stop(): Promise<void> }> = [];
  let h: Harness;

  beforeAll(async () => {
    const port = await freePort();
    servers.push(await server('127.0.0.1', port), await server('127.0.0.2', port));
    // Two servers, one port: the URL's host list (postgres.js takes both; the first answers).
    h = await startInProcess({ multi: { url: `postgres://postgres@127.0.0.1,127.0.0.2:${port}/postgres`, pool_size: 1, statement_timeout_ms: 8000 } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    for (const s of servers) await s.stop();
  });

  it('is stopped at the cap every time, not only when the cancel happens to reach the right server', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      const r = await callTool(h.client, 'execute_query', { connection: 'multi', query: 'SELECT generate_series(1, 50000000) AS g', max_rows: 7 });
      const ms = Date.now() - started;
      outcomes.push(r.ok ? (r.data.truncated === true && ms < 3000 ? 'capped' : `ok after ${ms} ms`) : `${r.error.code} after ${ms} ms`);
    }
    expect(outcomes).toEqual(['capped', 'capped', 'capped', 'capped']);
  }, 120_000);

  it('a client\'s cancel reaches the host its statement runs on, every time', async () => {
    // The socket factory picks hosts in turn; a cancel request goes to the host of the
    // session it names (its pid, from the session's BackendKeyData), not the next one.
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const abort = new AbortController();
      const started = Date.now();
      setTimeout(() => abort.abort(), 300);
      const r = await callTool(h.client, 'execute_query', { connection: 'multi', query: 'SELECT pg_sleep(6)' }, { signal: abort.signal }).catch((err: Error) => ({ ok: false as const, error: { code: 'ABORTED', message: err.message } }));
      const ms = Date.now() - started;
      // The client gives up at once; the statement must be stopped on the server too: the next call runs at once.
      const next = await callTool(h.client, 'execute_query', { connection: 'multi', query: 'SELECT 1 AS one' });
      const total = Date.now() - started;
      outcomes.push(next.ok && total < 3000 ? 'stopped' : `${r.ok ? 'ok' : r.error.code} in ${ms} ms, next after ${total} ms`);
    }
    expect(outcomes).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
  }, 120_000);
});
