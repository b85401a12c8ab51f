/**
 * Issue 14 on MariaDB: the attacks of mysql-attack-cases.ts through execute_query,
 * execute_transaction and monitor_query_performance on a read-only and a read-write
 * connection, as a superuser (root of a private server started for this file, so an
 * attack that got through could not harm the shared one). After every input the
 * effects are read through a raw root connection and the file system: the secret
 * file's content in any result, files in the target directory, the victim account's
 * login and the mysql schema's checksums, global variables, the peer session,
 * replication, the fixture's tables, and the next call's session. Positive controls
 * prove each channel can see an effect.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateMariadb, type PrivateDb } from '../faults/private-db.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { mysqlAttacks } from './mysql-attack-cases.js';

type Json = Record<string, unknown>;
const VICTIM = 'cmx_victim';
const VICTIM_PW = 'Victim-pw-1';
const DB = 'cmx_atk';
const TOOLS = ['execute_query', 'execute_transaction', 'monitor_query_performance'] as const;
const MYSQL_TABLES = ['global_priv', 'db', 'tables_priv', 'columns_priv', 'procs_priv', 'proxies_priv', 'roles_mapping', 'servers', 'plugin', 'event'];
/** Global variables that move by themselves. */
const VOLATILE = /^(GTID_|TIMESTAMP|RAND_SEED|LAST_|WARNING_COUNT|ERROR_COUNT|IDENTITY|INSERT_ID|PSEUDO_THREAD_ID|IN_TRANSACTION)/;

/** The one place that reads execute_query rows (issue 16 changes their shape). */
function rowsOf(data: Json): Json[] {
  const rows = data.rows as unknown[];
  const cols = data.columns as Array<string | { name: string }> | undefined;
  if (rows.length && Array.isArray(rows[0]) && cols) return (rows as unknown[][]).map((r) => Object.fromEntries(cols.map((c, i) => [typeof c === 'string' ? c : c.name, r[i]])));
  return rows as Json[];
}

function argsFor(tool: (typeof TOOLS)[number], connection: string, sql: string): Json {
  if (tool === 'execute_query') return { connection, query: sql };
  if (tool === 'execute_transaction') return { connection, queries: [{ query: 'SELECT 1' }, { query: sql }] };
  return { connection, query: sql, runs: 1 };
}

describe('MariaDB attacks of issue 14 (classes 2, 4, 5, 6)', () => {
  let server: PrivateDb;
  let admin: Connection;
  let peer: Connection;
  let h: Harness;
  let dir: string;
  let outDir: string;
  let secretFile: string;
  let secret: string;
  let url: string;

  beforeAll(async () => {
    const { default: mysql } = await import('mysql2/promise');
    server = await startPrivateMariadb();
    dir = mkdtempSync(join(tmpdir(), 'cmx-myatk-'));
    outDir = join(dir, 'out');
    mkdirSync(outDir);
    chmodSync(outDir, 0o777);
    secret = `S3CRET-${randomBytes(8).toString('hex')}`;
    secretFile = join(dir, 'secret.txt');
    writeFileSync(secretFile, secret);
    admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`CREATE TABLE ${DB}.victim (id int PRIMARY KEY, v varchar(20))`);
    await admin.query(`INSERT INTO ${DB}.victim VALUES (1, 'a'), (2, 'b')`);
    await admin.query(`CREATE TABLE ${DB}.loot (v longtext)`);
    await admin.query(`CREATE USER '${VICTIM}'@'%' IDENTIFIED BY '${VICTIM_PW}'`);
    await admin.query(`GRANT SELECT ON ${DB}.* TO '${VICTIM}'@'%'`);
    peer = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: VICTIM, password: VICTIM_PW, database: DB });
    url = `mysql://root@127.0.0.1:${server.port}/${DB}`;
    const conn = { url, pool_size: 1, statement_timeout_ms: 10_000 };
    const sys = { ...conn, url: `mysql://root@127.0.0.1:${server.port}/mysql` };
    h = await startInProcess({ rw: conn, ro: { ...conn, read_only: true }, sys });
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await peer?.end().catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await server?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function victimLogsIn(): Promise<boolean> {
    const { default: mysql } = await import('mysql2/promise');
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: VICTIM, password: VICTIM_PW, connectTimeout: 5000 });
      await c.end();
      return true;
    } catch {
      return false;
    }
  }

  /** Everything an attack could change, as one comparable record. */
  async function state(): Promise<Json> {
    const q = async (sql: string): Promise<Json[]> => (await admin.query(sql))[0] as Json[];
    const globals = (await q('SELECT VARIABLE_NAME AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_VARIABLES ORDER BY 1')).filter((r) => !VOLATILE.test(String(r.n)));
    const probe = async (connection: string): Promise<string> => {
      const r = await callTool(h.client, 'execute_query', { connection, query: 'SELECT DATABASE() AS db, @@sql_mode AS m, @@character_set_client AS c, CURRENT_USER() AS u' });
      return r.ok ? JSON.stringify(rowsOf(r.data)) : `error ${r.error.code}`;
    };
    return {
      files: readdirSync(outDir),
      victim_login: await victimLogsIn(),
      mysql: await q(`CHECKSUM TABLE ${MYSQL_TABLES.map((t) => `mysql.${t}`).join(', ')}`),
      mysql_tables: await q("SELECT GROUP_CONCAT(table_name ORDER BY table_name) AS t FROM information_schema.tables WHERE table_schema = 'mysql'"),
      users: await q('SELECT GROUP_CONCAT(CONCAT(user, "@", host) ORDER BY user) AS u FROM mysql.user'),
      globals: createHash('sha256').update(JSON.stringify(globals)).digest('hex'),
      peer: await peer.query('SELECT CONNECTION_ID() AS id').then(([r]) => (r as Json[])[0].id, () => 'dead'),
      slaves: (await q('SHOW ALL SLAVES STATUS')).length,
      tables: await q(`SELECT GROUP_CONCAT(table_name ORDER BY table_name) AS t FROM information_schema.tables WHERE table_schema = '${DB}'`),
      rows: await q(`SELECT (SELECT count(*) FROM ${DB}.victim) AS victim, (SELECT count(*) FROM ${DB}.loot) AS loot`),
      next_ro: await probe('ro'),
      next_rw: await probe('rw'),
    };
  }

  it('the effect channels see effects (positive controls)', async () => {
    const [rows] = await admin.query('SELECT LOAD_FILE(?) AS f', [secretFile]);
    expect(String((rows as Json[])[0].f)).toBe(secret);
    await admin.query(`SELECT 'x' INTO OUTFILE '${outDir}/control'`);
    expect(readdirSync(outDir)).toEqual(['control']);
    rmSync(join(outDir, 'control'));
    expect(await victimLogsIn()).toBe(true);
  });

  it('no attack has an effect, and none succeeds, on any tool or connection', async () => {
    const attacks = mysqlAttacks({ secret: secretFile, outDir, victim: VICTIM, peer: Number(peer.threadId) });
    let base = await state();
    const effects: string[] = [];
    let reported = 0;
    const accepted: string[] = [];
    const codes = new Map<string, number>();
    let calls = 0;
    for (const a of attacks) {
      for (const connection of ['ro', 'rw']) {
        for (const tool of TOOLS) {
          calls++;
          const r = await callTool(h.client, tool, argsFor(tool, connection, a.sql), { timeout: 30_000 });
          if (JSON.stringify(r.raw).includes(secret)) effects.push(`${a.id} ${tool} ${connection}: the secret file came back`);
          if (r.ok) accepted.push(`${a.id} ${tool} ${connection}: ${JSON.stringify(a.sql)}`);
          else codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
        }
      }
      const now = await state();
      for (const [k, v] of Object.entries(base)) {
        if (JSON.stringify(now[k]) !== JSON.stringify(v)) effects.push(`${a.id} ${JSON.stringify(a.sql)}: ${k} ${JSON.stringify(v).slice(0, 200)} -> ${JSON.stringify(now[k]).slice(0, 200)}`);
      }
      if (effects.length > reported) {
        reported = effects.length;
        base = await repair();
      }
    }
    console.error(`[security] mysql: ${attacks.length} attacks, ${calls} calls, ${effects.length} effects, ${accepted.length} accepted; refusals ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(effects).toEqual([]);
    expect(accepted).toEqual([]);
  }, 600_000);

  it('a connection whose database is mysql itself runs reads only (unqualified names are its tables)', async () => {
    const before = await state();
    for (const sql of [`DELETE FROM global_priv WHERE User = '${VICTIM}'`, `UPDATE global_priv SET Priv = '{}' WHERE User = '${VICTIM}'`, 'TRUNCATE TABLE roles_mapping', "INSERT INTO servers (Server_name) VALUES ('cmx_evil')"]) {
      for (const tool of TOOLS) {
        const r = await callTool(h.client, tool, argsFor(tool, 'sys', sql));
        expect(r.ok ? 'ok' : r.error.code, `${tool} ${sql}`).toBe('PERMISSION_DENIED');
      }
    }
    const read = await callTool(h.client, 'execute_query', { connection: 'sys', query: `SELECT count(*) AS n FROM global_priv WHERE User = '${VICTIM}'` });
    expect(read.ok && rowsOf(read.data)[0].n).toBe(1);
    expect(await state()).toEqual(before);
  });

  /** Puts back what an attack changed (best effort), so one effect is reported once. */
  async function repair(): Promise<Json> {
    const run = (sql: string): Promise<unknown> => admin.query(sql).catch(() => undefined);
    for (const f of readdirSync(outDir)) rmSync(join(outDir, f), { force: true, recursive: true });
    for (const t of ['dd1', 'dd2', 'loot2']) await run(`DROP TABLE IF EXISTS ${DB}.${t}`);
    await run(`DELETE FROM ${DB}.loot`);
    await run('DROP USER IF EXISTS cmx_evil');
    await run('DROP ROLE IF EXISTS cmx_evil_role');
    await run('DROP SERVER IF EXISTS cmx_srv');
    await run(`DROP EVENT IF EXISTS ${DB}.cmx_ev`);
    await run('UNLOCK TABLES');
    await run(`CREATE USER IF NOT EXISTS '${VICTIM}'@'%'`);
    await run(`ALTER USER '${VICTIM}'@'%' IDENTIFIED BY '${VICTIM_PW}'`);
    await run(`GRANT SELECT ON ${DB}.* TO '${VICTIM}'@'%'`);
    return state();
  }
});
