/**
 * The built server as a child process over stdio: start-up defaults, exit codes,
 * memory under a huge result, and surviving connections killed mid-transaction.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import postgres from 'postgres';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL, tempDir, uniqueName } from '../support/backends.js';
import { callTool, mustCall, SERVER_JS, startStdio, rowsOf } from '../support/mcp.js';

const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

describe('the stdio server', () => {
  it('serves an embedded SQLite default with no configuration', async () => {
    const data = tempDir('cmx-xdg-');
    const s = await startStdio([], { XDG_DATA_HOME: data });
    try {
      const tools = await s.client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual(
        ['alter_table', 'analyze_slow_queries', 'close_connection', 'create_backup', 'create_migration', 'create_table', 'execute_query',
          'execute_transaction', 'generate_schema', 'get_connection', 'get_database_stats', 'get_migration_status', 'get_schema',
          'list_backups', 'list_connections', 'list_migrations', 'monitor_query_performance', 'repair_migration', 'restore_backup',
          'rollback_migration', 'run_migration'],
      );
      for (const t of tools.tools) expect(t.outputSchema).toBeDefined();
      const r = await mustCall(s.client, 'execute_query', { query: 'SELECT sqlite_version() AS v' });
      expect(String(rowsOf(r)[0].v)).toMatch(/^3\./);
      expect(existsSync(join(data, 'codomyrmex-db', 'default.db'))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('writes nothing but JSON-RPC messages to stdout, even when databases send notices', async () => {
    const args = [SERVER_JS, '--connection', 'lite=sqlite::memory:', '--log-level', 'debug'];
    if (has('postgres')) args.push('--connection', `pg=${PG_URL}`);
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir('cmx-xdg-') }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const send = (msg: object): void => { child.stdin.write(`${JSON.stringify(msg)}\n`); };
    const call = (id: number, name: string, args: object): void => send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '0' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    call(2, 'execute_query', { connection: 'lite', query: 'SELECT 1 AS one' });
    // A PostgreSQL NOTICE ("table ... does not exist, skipping") must go to the log, not stdout.
    if (has('postgres')) call(3, 'execute_query', { connection: 'pg', query: 'DROP TABLE IF EXISTS cmx_no_such_table_here' });
    send('not json at all' as unknown as object);
    call(4, 'list_connections', {});
    const expected = has('postgres') ? 4 : 3;
    for (let i = 0; i < 100 && (out.match(/\n/g) ?? []).length < expected; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill();
    const lines = out.split('\n').filter(Boolean);
    expect(lines.length).toBe(expected);
    for (const line of lines) expect(JSON.parse(line).jsonrpc).toBe('2.0');
  });

  it('exits 2 with the bad field named when the config file is invalid', () => {
    const dir = tempDir('cmx-cfg-');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ connections: { main: { url: 'sqlite::memory:', max_rows: -5 } } }));
    const r = spawnSync(process.execPath, [SERVER_JS, '--config', file], { encoding: 'utf8', input: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/connections\.main\.max_rows/);
    expect(r.stdout).toBe('');
  });

  it.runIf(has('postgres'))('caps a 10-million-row SELECT with bounded memory', async () => {
    const s = await startStdio(['--connection', `pg=${PG_URL}`]);
    try {
      const r = await mustCall(s.client, 'execute_query', { connection: 'pg', query: 'SELECT * FROM generate_series(1, 10000000) AS g' });
      expect(r.truncated).toBe(true);
      expect(rowsOf(r).length).toBe(1000);
      const peak = peakRssMb(s.transport.pid as number);
      console.info(`10M-row SELECT: server peak RSS (VmHWM) ${peak.toFixed(1)} MB`);
      expect(peak).toBeLessThan(200);
    } finally {
      await s.close();
    }
  });
});

/**
 * Twenty times: start a transaction that inserts a row then sleeps, kill its
 * connection from outside, and check the call fails, nothing was committed and
 * the next call is served.
 */
async function killMidTransaction(client: Client, connection: string, table: string, sleep: string, killRunning: () => Promise<number>): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const call = callTool(client, 'execute_transaction', {
      connection, queries: [{ query: `INSERT INTO ${table} VALUES (?)`, params: [i] }, { query: sleep }],
    });
    let killed = 0;
    for (let tries = 0; tries < 100 && killed === 0; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      killed = await killRunning();
    }
    expect(killed).toBe(1);
    const r = await call;
    expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_LOST');
    const next = await mustCall(client, 'execute_query', { connection, query: `SELECT count(*) AS n FROM ${table}` });
    expect(rowsOf(next)).toEqual([{ n: 0 }]);
  }
}

describe.runIf(has('postgres'))('a PostgreSQL connection killed mid-transaction', () => {
  it('leaves nothing committed and the server serving, 20 times out of 20', async () => {
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    const t = uniqueName('kill');
    await admin.unsafe(`CREATE TABLE ${t} (id int)`);
    const s = await startStdio(['--connection', `pg=${PG_URL}`]);
    try {
      await killMidTransaction(s.client, 'pg', t, 'SELECT pg_sleep(10) AS slept', async () => (await admin.unsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND query LIKE '%pg_sleep(10)%' AND pid <> pg_backend_pid()`,
      )).length);
    } finally {
      await s.close();
      await admin.unsafe(`DROP TABLE ${t}`);
      await admin.end();
    }
  });
});

describe.runIf(has('mysql'))('a MariaDB connection killed mid-transaction', () => {
  it('leaves nothing committed and the server serving, 20 times out of 20', async () => {
    const admin = await mysql.createConnection(MYSQL_URL);
    const t = uniqueName('kill');
    await admin.query(`CREATE TABLE ${t} (id int) ENGINE=InnoDB`);
    const s = await startStdio(['--connection', `my=${MYSQL_URL}`]);
    try {
      await killMidTransaction(s.client, 'my', t, 'SELECT SLEEP(10) AS slept', async () => {
        const [rows] = await admin.query(`SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(10)%'`);
        for (const row of rows as Array<{ id: number }>) await admin.query(`KILL CONNECTION ${Number(row.id)}`);
        return (rows as unknown[]).length;
      });
    } finally {
      await s.close();
      await admin.query(`DROP TABLE ${t}`);
      await admin.end();
    }
  });
});
