// Shared bench helpers: medians, a table printer, and an MCP client on the built server.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** BENCH_SERVER_JS: another build to measure (an older dist/ copied aside, for a before/after in one run). */
export const SERVER_JS = resolve(process.env.BENCH_SERVER_JS ?? resolve(import.meta.dirname, '../dist/server.js'));
export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export function tempDir(prefix = 'cmx-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Times fn `n` times sequentially; returns per-call milliseconds. */
export async function timeEach(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

export async function startServer(args = [], env = {}) {
  // Read at each start, so one run can interleave two builds (A/B).
  return startStdio(process.execPath, [resolve(process.env.BENCH_SERVER_JS ?? SERVER_JS), ...args], env);
}

/** Any MCP server over stdio (`command args`), with the SDK client every bench uses. */
export async function startStdio(command, args, env = {}) {
  const transport = new StdioClientTransport({
    command,
    args,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir(), ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'codomyrmex-bench', version: '0' });
  await client.connect(transport);
  return { client, transport, close: () => client.close() };
}

export function fmt(x, digits = 3) {
  return typeof x === 'number' ? x.toFixed(digits) : String(x);
}

/** Prints rows of { metric, ours, baseline, ratio, target } as an aligned table. */
export function printTable(title, rows) {
  const cols = ['metric', 'ours', 'baseline', 'ratio', 'target', 'ok'];
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  process.stdout.write(`\n## ${title}\n${line(cols)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of cells) process.stdout.write(`${line(r)}\n`);
}

/** The built server in this process over a linked in-memory transport: no pipes, no second process. */
export async function startInProcess(connections, migrationDirs = {}) {
  const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
  const { buildConnection, createContext, createServer, loadConfig, parseCli } = await import(pathToFileURL(join(dirname(SERVER_JS), 'embed.js')).href);
  const base = loadConfig(parseCli([]), { XDG_DATA_HOME: tempDir() }, process.cwd());
  const map = new Map(Object.entries(connections).map(([n, url]) => [n, buildConnection(n, { url, migrations_dir: migrationDirs[n] }, process.cwd(), false, base.data_dir)]));
  const pino = (await import('pino')).default;
  const ctx = createContext({ ...base, connections: map, log_level: 'silent' }, { logger: pino({ level: 'silent' }) });
  const server = createServer(ctx);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'codomyrmex-bench', version: '0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return { client, close: async () => { await client.close(); await ctx.registry.closeAll(); } };
}

/** A fresh, empty database of this backend for one bench, and a function that drops it. */
export async function freshDb(backend) {
  const name = `cmx_bench_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  if (backend === 'sqlite') return { url: `sqlite://${join(tempDir(), 'b.db')}`, drop: async () => {} };
  if (backend === 'postgres') {
    const a = postgres(PG_URL, { max: 1, onnotice: () => {} });
    await a.unsafe(`CREATE DATABASE ${name}`);
    await a.end();
    return { url: PG_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = postgres(PG_URL, { max: 1, onnotice: () => {} }); await b.unsafe(`DROP DATABASE ${name} WITH (FORCE)`); await b.end(); } };
  }
  const a = await mysql.createConnection(MYSQL_URL);
  await a.query(`CREATE DATABASE ${name}`);
  await a.end();
  return { url: MYSQL_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = await mysql.createConnection(MYSQL_URL); await b.query(`DROP DATABASE ${name}`); await b.end(); } };
}
