/**
 * Connection management: runtime registration, failures with the right codes,
 * and no password anywhere in what the server says or logs.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.js';
import { createServer } from '../../src/mcp.js';
import { BACKENDS, tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, testConfig, type ConnectionSpec } from '../support/mcp.js';

const SENTINEL = 'Sentinel-Pw-7f3a9c';
const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);

/** A server whose log lines are kept in memory, to grep them for the password. */
async function startWithLogSink(connections: Record<string, ConnectionSpec>) {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } });
  const ctx = createContext(testConfig(connections, { log_level: 'debug' }), { logDestination: sink });
  const server = createServer(ctx);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 't', version: '0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return { client, lines, close: async () => { await client.close(); await ctx.registry.closeAll(); } };
}

describe('connections', () => {
  it('registers a URL at runtime only when the server allows it', async () => {
    const file = join(tempDir(), 'rt.db');
    const closed = await startInProcess({ default: { url: 'sqlite::memory:' } });
    try {
      const r = await callTool(closed.client, 'get_connection', { connection: 'extra', url: `sqlite://${file}` });
      expect(r.ok ? 'ok' : r.error.code).toBe('PERMISSION_DENIED');
    } finally {
      await closed.close();
    }
    const open = await startInProcess({ default: { url: 'sqlite::memory:' } }, { allow_runtime_connections: true });
    try {
      const d = await mustCall(open.client, 'get_connection', { connection: 'extra', url: `sqlite://${file}` });
      expect(d.backend).toBe('sqlite');
      expect(d.database).toBe(file);
      const list = await mustCall(open.client, 'list_connections');
      expect((list.connections as Array<{ name: string }>).map((c) => c.name)).toEqual(['default', 'extra']);
      const dup = await callTool(open.client, 'get_connection', { connection: 'extra', url: 'sqlite::memory:' });
      expect(dup.ok ? 'ok' : dup.error.code).toBe('DUPLICATE_OBJECT');
    } finally {
      await open.close();
    }
  });

  it('makes runtime connections read-only when the server is', async () => {
    const file = join(tempDir(), 'ro.db');
    const h = await startInProcess({ default: { url: `sqlite://${file}` } }, { allow_runtime_connections: true, read_only: true });
    try {
      await mustCall(h.client, 'execute_query', { query: 'CREATE TABLE t (a int)' });
      const d = await mustCall(h.client, 'get_connection', { connection: 'extra', url: `sqlite://${file}` });
      expect(d.read_only).toBe(true);
      const r = await callTool(h.client, 'execute_query', { connection: 'extra', query: 'INSERT INTO t VALUES (1)' });
      expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
    } finally {
      await h.close();
    }
  });

  it('asks for a connection name when several are configured and none is default', async () => {
    const h = await startInProcess({ a: { url: 'sqlite::memory:' }, b: { url: 'sqlite::memory:' } });
    try {
      const r = await callTool(h.client, 'execute_query', { query: 'SELECT 1' });
      expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_NOT_FOUND');
      if (!r.ok) expect(r.error.details.available).toEqual(['a', 'b']);
    } finally {
      await h.close();
    }
  });

  it('reports an unreachable server as CONNECTION_FAILED', async () => {
    const h = await startInProcess({ pg: { url: `postgres://postgres:${SENTINEL}@127.0.0.1:1/test` } });
    try {
      const r = await callTool(h.client, 'get_connection', { connection: 'pg' });
      expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_FAILED');
      expect(JSON.stringify(r.raw)).not.toContain(SENTINEL);
      const list = await mustCall(h.client, 'list_connections');
      expect(JSON.stringify(list)).not.toContain(SENTINEL);
      expect((list.connections as Array<{ state: string }>)[0].state).toBe('failed');
    } finally {
      await h.close();
    }
  });

  it.runIf(has('mysql'))('reports a wrong password as AUTH_FAILED without the password in results or logs', async () => {
    const url = `mysql://root:${SENTINEL}@127.0.0.1:3306/test`;
    const s = await startWithLogSink({ my: { url } });
    try {
      const r = await callTool(s.client, 'execute_query', { connection: 'my', query: 'SELECT 1' });
      expect(r.ok ? 'ok' : r.error.code).toBe('AUTH_FAILED');
      const d = await callTool(s.client, 'get_connection', { connection: 'my' });
      const list = await mustCall(s.client, 'list_connections');
      const logs = s.lines.join('');
      expect(logs).toMatch(/connection failed.*|AUTH_FAILED/);
      const everything = JSON.stringify([r.raw, d.raw, list]) + logs;
      expect(everything).not.toContain(SENTINEL);
      expect(JSON.stringify(list)).toContain('root:***@127.0.0.1');
    } finally {
      await s.close();
    }
  });
});
