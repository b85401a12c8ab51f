/**
 * The built server as a child process over stdio: start-up defaults, exit codes,
 * memory under a huge result, and surviving connections killed mid-transaction.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL, tempDir, uniqueName } from '../support/backends.js';
import { callTool, mustCall, SERVER_JS, startStdio } from '../support/mcp.js';

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
        ['close_connection', 'execute_query', 'execute_transaction', 'get_connection', 'list_connections'],
      );
      for (const t of tools.tools) expect(t.outputSchema).toBeDefined();
      const r = await mustCall(s.client, 'execute_query', { query: 'SELECT sqlite_version() AS v' });
      expect(String((r.rows as Array<{ v: string }>)[0].v)).toMatch(/^3\./);
      expect(existsSync(join(data, 'codomyrmex-db', 'default.db'))).toBe(true);
    } finally {
      await s.close();
    }
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
      expect((r.rows as unknown[]).length).toBe(1000);
      const peak = peakRssMb(s.transport.pid as number);
      expect(peak).toBeLessThan(200);
    } finally {
      await s.close();
    }
  });
});

describe.runIf(has('postgres'))('a PostgreSQL connection killed mid-transaction', () => {
  it('leaves nothing committed and the server serving, 20 times out of 20', async () => {
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    const t = uniqueName('kill');
    await admin.unsafe(`CREATE TABLE ${t} (id int)`);
    const s = await startStdio(['--connection', `pg=${PG_URL}`]);
    try {
      for (let i = 0; i < 20; i++) {
        const call = callTool(s.client, 'execute_transaction', {
          connection: 'pg', queries: [{ query: `INSERT INTO ${t} VALUES (?)`, params: [i] }, { query: 'SELECT pg_sleep(10) AS slept' }],
        });
        let killed = 0;
        for (let tries = 0; tries < 100 && killed === 0; tries++) {
          await new Promise((r) => setTimeout(r, 20));
          const rows = await admin.unsafe(
            `SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE application_name = 'codomyrmex-db' AND query LIKE '%pg_sleep(10)%' AND pid <> pg_backend_pid()`,
          );
          killed = rows.length;
        }
        expect(killed).toBe(1);
        const r = await call;
        expect(r.ok).toBe(false);
        const next = await mustCall(s.client, 'execute_query', { connection: 'pg', query: `SELECT count(*) AS n FROM ${t}` });
        expect(next.rows).toEqual([{ n: 0 }]);
      }
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
      for (let i = 0; i < 20; i++) {
        const call = callTool(s.client, 'execute_transaction', {
          connection: 'my', queries: [{ query: `INSERT INTO ${t} VALUES (?)`, params: [i] }, { query: 'SELECT SLEEP(10) AS slept' }],
        });
        let killed = 0;
        for (let tries = 0; tries < 100 && killed === 0; tries++) {
          await new Promise((r) => setTimeout(r, 20));
          const [rows] = await admin.query(`SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(10)%'`);
          for (const row of rows as Array<{ id: number }>) {
            await admin.query(`KILL CONNECTION ${Number(row.id)}`);
            killed++;
          }
        }
        expect(killed).toBe(1);
        const r = await call;
        expect(r.ok).toBe(false);
        const next = await mustCall(s.client, 'execute_query', { connection: 'my', query: `SELECT count(*) AS n FROM ${t}` });
        expect(next.rows).toEqual([{ n: 0 }]);
      }
    } finally {
      await s.close();
      await admin.query(`DROP TABLE ${t}`);
      await admin.end();
    }
  });
});
