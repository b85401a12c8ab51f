/**
 * Drives the real server through a real SDK Client: in-process over a linked
 * in-memory transport, or as a child process over stdio.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { resolve } from 'node:path';
import { buildConnection, loadConfig, parseCli, type Config } from '../../src/config.js';
import { createContext, type ServerContext } from '../../src/context.js';
import { createServer } from '../../src/mcp.js';
import { tempDir } from './backends.js';

export interface ConnectionSpec {
  url: string;
  read_only?: boolean;
  max_rows?: number;
  max_bytes?: number;
  statement_timeout_ms?: number;
  pool_size?: number;
  acquire_timeout_ms?: number;
  migrations_dir?: string;
}

export interface Harness {
  client: Client;
  ctx: ServerContext;
  close(): Promise<void>;
}

export type ToolOutcome =
  | { ok: true; data: Record<string, unknown>; raw: CallToolResult }
  | { ok: false; error: { code: string; message: string; details: Record<string, unknown> }; raw: CallToolResult };

export function testConfig(connections: Record<string, ConnectionSpec>, overrides: Partial<Config> = {}): Config {
  const base = loadConfig(parseCli([]), { XDG_DATA_HOME: tempDir('cmx-data-') }, process.cwd());
  const map = new Map();
  for (const [name, spec] of Object.entries(connections)) {
    map.set(name, buildConnection(name, spec, process.cwd(), false, base.data_dir));
  }
  return { ...base, connections: map, log_level: 'silent', ...overrides };
}

export async function startInProcess(connections: Record<string, ConnectionSpec>, overrides: Partial<Config> = {}): Promise<Harness> {
  const ctx = createContext(testConfig(connections, overrides), { logger: pino({ level: 'silent' }) });
  const server = createServer(ctx);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'codomyrmex-test', version: '0.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    ctx,
    async close() {
      await client.close();
      await server.close();
      await ctx.registry.closeAll();
      await ctx.queryLog.close();
    },
  };
}

export const SERVER_JS = resolve(import.meta.dirname, '../../dist/server.js');

/** The built server (or `serverJs`, a copy of it) as a child process over stdio (npm test builds dist first). */
export async function startStdio(args: string[], env: Record<string, string> = {}, serverJs = SERVER_JS): Promise<{ client: Client; transport: StdioClientTransport; close(): Promise<void> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [serverJs, ...args],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir('cmx-data-'), ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'codomyrmex-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}, options?: { signal?: AbortSignal; timeout?: number }): Promise<ToolOutcome> {
  const raw = (await client.callTool({ name, arguments: args }, undefined, { signal: options?.signal, timeout: options?.timeout ?? 120_000 })) as CallToolResult;
  if (raw.isError) {
    const text = raw.content.find((c) => c.type === 'text');
    return { ok: false, error: text && 'text' in text ? JSON.parse(text.text).error : undefined, raw };
  }
  return { ok: true, data: raw.structuredContent as Record<string, unknown>, raw };
}

/** A tool's outcome, or NO_ANSWER when none came within the bound of callWithin. */
export type BoundedOutcome = ToolOutcome | { ok: false; error: { code: 'NO_ANSWER'; message: string; details: Record<string, unknown> } };

/**
 * A call that must answer within `timeoutMs`: no answer (the client gave up) is an outcome
 * of its own, not a throw, so a test under faults can report every call it made.
 */
export function callWithin(client: Client, name: string, args: Record<string, unknown>, timeoutMs: number): Promise<BoundedOutcome> {
  return callTool(client, name, args, { timeout: timeoutMs }).catch((e: Error) => ({ ok: false as const, error: { code: 'NO_ANSWER' as const, message: e.message, details: {} } }));
}

/**
 * The rows of an execute_query result (or of one statement in execute_transaction's
 * `results`) as objects keyed by column name: the one place tests read the result
 * shape (SPEC §3.4: columns once, each row an array), so a change of shape is one edit.
 */
export function rowsOf(result: Record<string, unknown>): Array<Record<string, unknown>> {
  const names = (result.columns as Array<{ name: string }>).map((c) => c.name);
  // fromEntries defines own properties: a column named __proto__ stays a column.
  return (result.rows as unknown[][]).map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

/** Calls a tool that must succeed, failing the test with the error otherwise. */
export async function mustCall(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await callTool(client, name, args);
  if (!r.ok) throw new Error(`${name} failed: ${r.error.code} ${r.error.message}`);
  return r.data;
}
