/**
 * Property-based fuzzing of every tool through a real stdio server process on SQLite.
 * Arguments are generated from each tool's inputSchema as tools/list gives it
 * (loosely: right shapes, wrong types, unknown fields, adversarial strings, huge
 * numbers, deep nesting). Properties: the process never dies, every answer is a
 * result or an isError with a stable code (a JSON-RPC error only for unknown tools),
 * stdout carries only JSON-RPC, stderr only log lines, and SELECT 1 still answers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { tempDir } from '../support/backends.js';
import { callTool, startStdio, rowsOf } from '../support/mcp.js';

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; anyOf?: Schema[]; oneOf?: Schema[]; minimum?: number; maximum?: number };
type Json = Record<string, any>;

const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const TIME_LIMIT_MS = Number(process.env.FUZZ_MS ?? 45_000);

/** Strings that have broken parsers, quoting, paths and logs elsewhere. */
const NASTY = [
  '', ' ', '\0', 'x\0y', '\u00a0', '\u202e', '\ud800', '😀'.repeat(3), '\\', "'", '"', '`', '$$', '/*', '*/', '--', '#', ';',
  '../../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\win.ini', '%s%n%x', '${jndi:ldap://x}', '{{7*7}}', '<script>',
  "'; DROP TABLE fz; --", 'COMMIT; DROP TABLE fz', 'ATTACH \'/tmp/x\' AS y', "VACUUM INTO '/tmp/cmx-fuzz-x'", 'PRAGMA writable_schema=1',
  'SELECT load_extension(\'x\')', 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c',
  'SELECT * FROM fz', 'fz', 'FZ', '"fz"', 'sqlite_master', 'main.fz', 'default', 'ro', 'rw',
  'a'.repeat(70), 'b'.repeat(5000), 'x'.repeat(200_000), '\n'.repeat(100), '-- migrate:up', '-- migrate:down\n-- migrate:no-transaction',
  '20240101000000', '99999999999999999999', '-1', 'NaN', 'true', 'null', '{}', '[]', 'sqlite::memory:', 'postgres://u:p@127.0.0.1:1/x',
];
const NUMS = [0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, 86_400_001, 1_000_001];

const str = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NASTY) }, { weight: 2, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });
const num = fc.oneof(fc.constantFrom(...NUMS), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const deep = fc.nat({ max: 3000 }).map((n) => { let v: unknown = 'bottom'; for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v }; return v; });
const anyJson: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: deep }, { weight: 2, arbitrary: str }, { weight: 1, arbitrary: num });

/** A value shaped by the schema most of the time, and anything at all sometimes. */
function valueFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  const variants = [schema.anyOf, schema.oneOf].find(Array.isArray);
  if (variants) return fc.oneof(...variants.map((s) => valueFor(s, depth + 1)), anyJson);
  if (schema.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: anyJson });
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const shaped = (() => {
    switch (type) {
      case 'string': return str;
      case 'integer': return fc.oneof(fc.integer({ min: Math.max(schema.minimum ?? -1e6, -1e6), max: Math.min(schema.maximum ?? 1e6, 1e6) }), num);
      case 'number': return num;
      case 'boolean': return fc.boolean();
      case 'array': return fc.array(valueFor(schema.items, depth + 1), { maxLength: 5 });
      case 'object': return objectFor(schema, depth);
      default: return anyJson;
    }
  })();
  return fc.oneof({ weight: 12, arbitrary: shaped }, { weight: 1, arbitrary: anyJson });
}

function objectFor(schema: Schema, depth: number): fc.Arbitrary<Json> {
  const props = Object.entries(schema.properties ?? {});
  const all = fc.record(Object.fromEntries(props.map(([k, s]) => [k, valueFor(s, depth + 1)])), { requiredKeys: [] });
  // Mostly with the required fields present, so calls get past validation into the managers.
  const required = fc.record(Object.fromEntries(props.filter(([k]) => schema.required?.includes(k)).map(([k, s]) => [k, valueFor(s, depth + 1)])));
  const known = fc.oneof({ weight: 1, arbitrary: all }, { weight: 3, arbitrary: fc.tuple(all, required).map(([a, r]) => ({ ...a, ...r })) });
  const extra = fc.dictionary(fc.oneof(str, fc.constantFrom('__proto__', 'constructor', 'prototype')), anyJson, { maxKeys: 2 });
  return fc.tuple(known, fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extra }))
    .map(([k, e]) => ({ ...e, ...k }) as Json);
}

describe('fuzzing every tool over stdio (SQLite)', () => {
  const dir = tempDir('cmx-fuzz-');
  const roFile = join(dir, 'ro.db');
  const stats = { runs: 0, results: 0, tool_errors: 0, rpc_errors: 0, codes: new Map<string, number>() };
  const findings: string[] = [];
  let server: Awaited<ReturnType<typeof startStdio>>;
  let client: Client;
  let stderr = '';
  const transportErrors: string[] = [];
  let tools: Array<{ name: string; inputSchema: Schema }> = [];

  beforeAll(async () => {
    const seed = new Database(roFile);
    seed.exec("CREATE TABLE fz (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO fz VALUES (1, 'a'), (2, 'b')");
    seed.close();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({
      connections: {
        ro: { url: `sqlite://${roFile}`, read_only: true, statement_timeout_ms: 2000, migrations_dir: join(dir, 'mig-ro') },
        rw: { url: `sqlite://${join(dir, 'throwaway.db')}`, statement_timeout_ms: 2000, migrations_dir: join(dir, 'mig-rw') },
      },
      log_level: 'info',
    }));
    server = await startStdio(['--config', config]);
    client = server.client;
    server.transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Anything on stdout that is not JSON-RPC surfaces here (the SDK's parse errors).
    client.onerror = (e) => { transportErrors.push(e.message); };
    tools = (await client.listTools()).tools as typeof tools;
  });

  afterAll(async () => {
    console.error(`[security] fuzz: runs ${stats.runs}, results ${stats.results}, tool errors ${stats.tool_errors}, JSON-RPC errors ${stats.rpc_errors}, findings ${findings.length}, codes ${JSON.stringify(Object.fromEntries(stats.codes))}`);
    for (const f of findings.slice(0, 10)) console.error(`[security]   ${f}`);
    await server?.close();
  });

  it('never dies, answers every call with a result or a stable error code, keeps stdout clean', async () => {
    const names = tools.map((t) => t.name);
    expect(names.length).toBeGreaterThanOrEqual(18);
    const call = fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...tools).chain((t) => fc.tuple(fc.constant(t.name), objectFor(t.inputSchema, 0), fc.constantFrom('ro', 'rw', 'ro', 'rw', 'ro', 'rw', undefined, 'nope'))) },
      { weight: 1, arbitrary: fc.tuple(str, fc.constant({} as Json), fc.constant(undefined)) },
    ).map(([name, args, connection]) => ({ name, args: connection === undefined ? args : { ...args, connection } }));

    await fc.assert(fc.asyncProperty(call, async ({ name, args }) => {
      stats.runs++;
      const known = names.includes(name);
      try {
        const raw = await client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 });
        if (!raw.isError) { stats.results++; return; }
        stats.tool_errors++;
        const text = (raw.content as Json[]).find((c) => c.type === 'text')?.text ?? '';
        let code = 'UNPARSEABLE';
        try { code = JSON.parse(text).error?.code ?? 'NO_CODE'; } catch { /* counted below */ }
        // The SDK answers an unknown tool with an isError text of its own.
        if (!known && code === 'UNPARSEABLE') code = 'UNKNOWN_TOOL';
        stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
        if (code !== 'UNKNOWN_TOOL' && !(ERROR_CODES as readonly string[]).includes(code)) findings.push(`${name} ${JSON.stringify(args).slice(0, 300)}: error without a stable code: ${text.slice(0, 300)}`);
      } catch (err) {
        stats.rpc_errors++;
        if (!(err instanceof McpError) || known) findings.push(`${name} ${JSON.stringify(args).slice(0, 300)}: ${(err as Error).message.slice(0, 300)}`);
      }
    }), { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: true });

    expect(stats.runs).toBeGreaterThanOrEqual(Math.min(RUNS, 100));
    for (const connection of ['ro', 'rw']) {
      const r = await callTool(client, 'execute_query', { connection, query: 'SELECT 1 AS one' });
      expect(r.ok ? rowsOf(r.data) : r.error).toEqual([{ one: 1 }]);
    }
    const pid = server.transport.pid;
    expect(pid).not.toBeNull();
    expect(() => process.kill(pid!, 0)).not.toThrow();
    expect(transportErrors).toEqual([]);
    // stderr is the log: JSON lines only, none fatal (a crash would print a bare stack).
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    const bad = lines.filter((l) => { try { return JSON.parse(l).level >= 60; } catch { return true; } });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(findings).toEqual([]);
  }, 120_000);
});
