/**
 * A sentinel password in PostgreSQL and MariaDB URLs must never leave the server:
 * not on stdout (every JSON-RPC message), not on stderr (the log, at debug level),
 * not in result texts, resource lists and reads, nor in any file the server writes
 * (migrations, its data directory). A spread of calls, failing ones included.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, freshDatabase, tempDir } from '../support/backends.js';
import { startStdio } from '../support/mcp.js';

const SENTINEL = 'S3ntinel-pw-XYZ';
const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.skipIf(!has('postgres') || !has('mysql'))('secrets never leave the server', () => {
  const dataDir = tempDir('cmx-secret-data-');
  const migDir = tempDir('cmx-secret-mig-');
  const confDir = tempDir('cmx-secret-conf-');
  const user = `cmx_sentinel_${process.pid % 100000}`;
  const drops: Array<() => Promise<void>> = [];
  const seen: string[] = [];
  let stderr = '';
  let calls = 0;

  beforeAll(async () => {
    const pg = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'secret');
    const my = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'secret');
    drops.push(pg.drop, my.drop);
    const myDb = my.url.replace(/^.*\//, '');
    const root = await mysql.createConnection(MYSQL_URL);
    await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${SENTINEL}'`);
    await root.query(`GRANT ALL ON \`${myDb}\`.* TO '${user}'@'%'`);
    await root.end();
    drops.push(async () => { const r = await mysql.createConnection(MYSQL_URL); await r.query(`DROP USER IF EXISTS '${user}'@'%'`); await r.end(); });
    // Trust auth ignores the PostgreSQL password, so the connection works and the secret is live in memory.
    const pgUrl = pg.url.replace('postgres://postgres@', `postgres://postgres:${SENTINEL}@`);
    writeFileSync(join(confDir, 'config.json'), JSON.stringify({
      connections: {
        pg: { url: pgUrl, migrations_dir: join(migDir, 'pg') },
        my: { url: `mysql://${user}:${SENTINEL}@127.0.0.1:3306/${myDb}`, migrations_dir: join(migDir, 'my') },
        my_bad_db: { url: `mysql://${user}:${SENTINEL}@127.0.0.1:3306/cmx_no_such_db` },
        my_bad_user: { url: `mysql://nobody_${process.pid}:${SENTINEL}@127.0.0.1:3306/${myDb}` },
        pg_closed: { url: `postgres://postgres:${SENTINEL}@127.0.0.1:1/x` },
        pg_bad_db: { url: `postgres://postgres:${SENTINEL}@127.0.0.1:5432/cmx_no_such_db` },
      },
      log_level: 'debug',
      query_log: { path: join(dataDir, 'query-log.db') },
    }));
  });

  afterAll(async () => {
    console.error(`[security] secrets: tool calls ${calls}, messages and files scanned ${seen.length}, sentinel hits ${seen.filter((s) => s.includes(SENTINEL)).length}`);
    for (const d of drops.reverse()) await d().catch(() => undefined);
  });

  it('appears in no message, log line, resource or file', async () => {
    const s = await startStdio(['--config', join(confDir, 'config.json')], { XDG_DATA_HOME: dataDir });
    s.transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const deliver = s.transport.onmessage!;
    s.transport.onmessage = (m) => { seen.push(JSON.stringify(m)); deliver(m); };
    const call = async (name: string, args: Record<string, unknown>): Promise<void> => {
      calls++;
      await s.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }).catch((err: Error) => seen.push(err.message));
    };
    try {
      await call('list_connections', {});
      for (const c of ['pg', 'my', 'my_bad_db', 'my_bad_user', 'pg_closed', 'pg_bad_db']) {
        await call('get_connection', { connection: c });
        await call('execute_query', { connection: c, query: 'SELECT 1 AS one' });
      }
      await call('list_connections', {});
      for (const c of ['pg', 'my']) {
        // Errors that echo the password (results are never rewritten, SPEC §1: errors are).
        await call('execute_query', { connection: c, query: c === 'pg' ? "SELECT ('S3nt' || 'inel-pw-XYZ')::int" : 'SELECT * FROM `S3ntinel-pw-XYZ`' });
        await call('execute_query', { connection: c, query: 'SELEC broken' });
        await call('execute_query', { connection: c, query: 'SELECT * FROM no_such_table' });
        await call('execute_query', { connection: c, query: 'CREATE TABLE sec_t (id integer PRIMARY KEY, v text)' });
        await call('execute_query', { connection: c, query: 'INSERT INTO sec_t VALUES (1, ?)', params: ['x'] });
        await call('execute_query', { connection: c, query: 'INSERT INTO sec_t VALUES (1, ?)', params: ['dup'] });
        await call('execute_transaction', { connection: c, queries: [{ query: 'SELECT 1' }, { query: 'SELECT * FROM nope' }] });
        await call('execute_query', { connection: c, query: c === 'pg' ? 'SELECT pg_sleep(2)' : 'SELECT SLEEP(2)', timeout_ms: 100 });
        await call('get_schema', { connection: c });
        await call('get_schema', { connection: c, table: 'nope' });
        await call('create_table', { connection: c, schema: { table: 'sec_u', columns: [{ name: 'a', type: 'integer' }] }, record_migration: true });
        await call('create_migration', { connection: c, name: 'add_x', up: 'CREATE TABLE sec_x (a integer);', down: 'DROP TABLE sec_x;' });
        await call('run_migration', { connection: c });
        await call('create_migration', { connection: c, name: 'broken', up: 'CREATE TABLE sec_x (a integer);' });
        await call('run_migration', { connection: c });
        await call('get_migration_status', { connection: c });
        await call('list_migrations', { connection: c });
        await call('monitor_query_performance', { connection: c, query: 'SELECT * FROM sec_t', runs: 2 });
        await call('analyze_slow_queries', { connection: c });
        await call('get_database_stats', { connection: c });
        await call('close_connection', { connection: c });
      }
      await call('get_connection', { connection: 'pg', url: `postgres://postgres:${SENTINEL}@127.0.0.1:5432/x` });
      const listed = await s.client.listResources();
      seen.push(JSON.stringify(listed));
      for (const r of listed.resources) seen.push(JSON.stringify(await s.client.readResource({ uri: r.uri }).catch((e: Error) => e.message)));
      const templates = await s.client.listResourceTemplates();
      seen.push(JSON.stringify(templates));
    } finally {
      await s.close();
    }
    seen.push(stderr);
    for (const f of [...filesUnder(dataDir), ...filesUnder(migDir)]) seen.push(`${f}\n${readFileSync(f).toString('latin1')}`);
    expect(calls).toBeGreaterThanOrEqual(50);
    // The test must see real traffic: the debug log, a migration file, the failed logins.
    expect(stderr).toMatch(/connection failed/);
    expect(seen.some((x) => x.includes('"name":"one"') && x.includes('"rows":[[1]]'))).toBe(true);
    // The errors that echoed the password did reach the client, redacted.
    expect(seen.filter((x) => /integer: \\+"\*\*\*|\.\*\*\*' doesn't exist/.test(x)).length).toBe(2);
    expect(filesUnder(migDir).some((f) => f.endsWith('.sql'))).toBe(true);
    const hits = seen.filter((x) => x.includes(SENTINEL)).map((x) => { const i = x.indexOf(SENTINEL); return x.slice(Math.max(0, i - 200), i + 50); });
    expect(hits).toEqual([]);
  }, 180_000);
});
