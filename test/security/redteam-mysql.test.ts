/**
 * Red-team corpus, MariaDB: an account with FILE and every privilege on its database.
 * Executable comments with strings inside them, sql_mode changes within a transaction,
 * account changes in every spelling, files written through table options, and session
 * state (USE, SET, variables) that must not reach the next call.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_URL, tempDir } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';
import { fill, runRedTeam, type Attack, type Witness } from './redteam.js';

const BACKENDS = process.env.BACKENDS?.split(',') ?? ['mysql'];
const id = `${process.pid}_${randomBytes(3).toString('hex')}`;
const DB = `rt_my_${id}`;
const USER = `rt_file_${id}`;
const VICTIM = `rt_victim_${id}`;
const PW = 'Rt-pw-1';
const VICTIM_PW = 'Victim-pw-1';
const token = `RTSECRET${randomBytes(8).toString('hex')}`;

const ATTACKS: Attack[] = [
  ...[
    "SELECT LOAD_FILE('{F}')",
    "SELECT /*!50000 '*/', LOAD_FILE('{F}') */",
    "SELECT /*M! '*/', LOAD_FILE('{F}') */",
    "SELECT /*M!100000 '*/', LOAD_FILE('{F}') */",
    "SELECT /*!50000 \"*/\", LOAD_FILE('{F}') */",
    "SELECT /*! '*/' */ 1, /*! LOAD_FILE('{F}') */",
    "SELECT 1 /*!, LOAD_FILE('{F}') */",
    "SELECT 1 /*M!, LOAD_FILE('{F}') */",
    "SELECT 1 FROM dual WHERE 0 /*!UNION SELECT LOAD_FILE('{F}') */",
    "SELECT /*!50000 1 -- '*/\n, LOAD_FILE('{F}') */",
    "SELECT /*!50000 1 # '*/\n, LOAD_FILE('{F}') */",
    "SELECT `LOAD_FILE`('{F}')",
    "SELECT load_file ('{F}')",
    "SELECT CONVERT(LOAD_FILE('{F}') USING utf8)",
    "SELECT (SELECT LOAD_FILE('{F}'))",
    "WITH x AS (SELECT LOAD_FILE('{F}') c) SELECT c FROM x",
    "SELECT 1 INTO OUTFILE '{D}/w1'",
    "SELECT /*!50000 '*/', 1 INTO OUTFILE '{D}/w2' */",
    "SELECT /*!50000 '*/', 1 INTO DUMPFILE '{D}/w3' */",
    "SELECT 1 /*!INTO DUMPFILE '{D}/w4' */",
    "SELECT 1 /*M!INTO OUTFILE '{D}/w5' */",
    "LOAD DATA INFILE '{F}' INTO TABLE rt_data (v)",
    "/*!LOAD DATA INFILE '{F}' INTO TABLE rt_data (v) */",
    "SELECT GET_LOCK('rt_lock', 0)",
    "SELECT /*!50000 '*/', GET_LOCK('rt_lock', 0) */",
    'KILL {PEERID}',
    '/*!50000 KILL {PEERID} */',
    'KILL QUERY {PEERID}',
    "SET PASSWORD FOR '{VICTIM}'@'%' = PASSWORD('owned')",
    "/*!50000 SET PASSWORD FOR '{VICTIM}'@'%' = PASSWORD('owned') */",
    "SELECT /*!50000 '*/' */ 1 /*!; SET PASSWORD FOR '{VICTIM}'@'%' = PASSWORD('owned') */",
    "GRANT ALL ON *.* TO '{VICTIM}'@'%' IDENTIFIED BY 'owned'",
    "GRANT SELECT ON {DB}.* TO '{VICTIM}'@'%' IDENTIFIED BY 'owned'",
    "/*!GRANT SELECT ON {DB}.* TO '{VICTIM}'@'%' IDENTIFIED BY 'owned' */",
    "CREATE OR REPLACE USER '{VICTIM}'@'%' IDENTIFIED BY 'owned'",
    "ALTER USER '{VICTIM}'@'%' IDENTIFIED BY 'owned'",
    "CREATE USER 'rt_new_{ID}'@'%' IDENTIFIED BY 'x'",
    "UPDATE mysql.global_priv SET Priv = '{}' WHERE User = '{VICTIM}'",
    "UPDATE `mysql`.`global_priv` SET Priv = '{}' WHERE User = '{VICTIM}'",
    'FLUSH PRIVILEGES',
    "CREATE TABLE rt_dd_{ID} (x int) DATA DIRECTORY = '{D}'",
    "CREATE TABLE rt_di_{ID} (x int) ENGINE=MyISAM DATA DIRECTORY = '{D}' INDEX DIRECTORY = '{D}'",
    "CREATE TABLE rt_dc_{ID} (x int) /*!DATA DIRECTORY = '{D}' */",
    "CREATE SERVER rt_srv_{ID} FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', USER 'root')",
    'USE mysql',
    '/*!USE mysql */',
    "SET @x = 'leak'",
    "SELECT 1 INTO @x",
    "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "SET time_zone = '+05:00'",
    "SET NAMES latin1",
  ].map((sql, i) => ({ id: `single-${i}`, sql })),
  { id: 'mode-then-read', sql: ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", "SELECT '\\', LOAD_FILE('{F}') -- '"] },
  { id: 'mode-then-read-2', sql: ["SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT '\\', LOAD_FILE('{F}') -- '", 'SELECT 1'] },
  { id: 'ansi-then-read', sql: ["SET sql_mode = 'ANSI_QUOTES'", "SELECT \"a'\", LOAD_FILE('{F}'), \"'\""] },
  { id: 'prepare', sql: ["PREPARE rt_s FROM 'SELECT LOAD_FILE(''{F}'')'", 'EXECUTE rt_s'] },
  { id: 'ctas', sql: ["CREATE TABLE rt_lf_{ID} AS SELECT /*!50000 '*/', LOAD_FILE('{F}') AS c */", 'SELECT * FROM rt_lf_{ID}'] },
  { id: 'default', sql: ["CREATE TABLE rt_def_{ID} (id int, c text DEFAULT (LOAD_FILE('{F}')))", 'INSERT INTO rt_def_{ID} (id) VALUES (1)', 'SELECT * FROM rt_def_{ID}'] },
  { id: 'view', sql: ["CREATE VIEW rt_v_{ID} AS SELECT /*!LOAD_FILE('{F}') */ AS c", 'SELECT * FROM rt_v_{ID}'] },
  { id: 'procedure', sql: ["CREATE PROCEDURE rt_p_{ID}() SELECT LOAD_FILE('{F}')", 'CALL rt_p_{ID}()'] },
];

async function state(root: Connection, dir: string): Promise<string> {
  const [[s]] = (await root.query(`select
      (select md5(group_concat(id, ':', v order by id)) from ${DB}.rt_data) as rows_,
      (select md5(group_concat(User, Host, Priv order by User, Host)) from mysql.global_priv) as accounts,
      (select count(*) from mysql.servers) as servers,
      is_used_lock('rt_lock') as lock_`)) as unknown as [[Record<string, unknown>]];
  return JSON.stringify({ ...s, files: readdirSync(dir).sort().join(',') });
}

describe.runIf(BACKENDS.includes('mysql'))('red team: MariaDB account with FILE', () => {
  let root: Connection;
  let peer: Connection;
  let h: Harness;
  let dir = '';
  let base = '';
  let sessionBase = '';
  let values: Record<string, string | number> = {};

  beforeAll(async () => {
    const mysql = await import('mysql2/promise');
    root = await mysql.createConnection(MYSQL_URL);
    await root.query(`CREATE DATABASE ${DB}`);
    await root.query(`CREATE TABLE ${DB}.rt_data (id int AUTO_INCREMENT PRIMARY KEY, v text)`);
    await root.query(`INSERT INTO ${DB}.rt_data (v) VALUES ('a'), ('b'), ('c')`);
    await root.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PW}'`);
    await root.query(`GRANT ALL ON ${DB}.* TO '${USER}'@'%'`);
    // As powerful as an operator's own account: only the guards stand between an attack and the server.
    await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%' WITH GRANT OPTION`);
    await root.query(`CREATE USER '${VICTIM}'@'%' IDENTIFIED BY '${VICTIM_PW}'`);
    dir = tempDir('cmx-rt-my-');
    chmodSync(dir, 0o777);
    writeFileSync(join(dir, 'secret.txt'), `${token}\n`, { mode: 0o644 });
    const url = MYSQL_URL.replace(/\/\/[^@/]*@/, `//${USER}:${PW}@`).replace(/\/[^/]*$/, `/${DB}`);
    peer = await mysql.createConnection(url);
    values = { F: join(dir, 'secret.txt'), D: dir, DB, VICTIM, PEERID: peer.threadId ?? 0, ID: id };
    h = await startInProcess({
      ro: { url, read_only: true, pool_size: 1, statement_timeout_ms: 5000 },
      rw: { url, pool_size: 1, statement_timeout_ms: 5000 },
    });
    base = await state(root, dir);
    sessionBase = await sessionState();
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await peer?.end().catch(() => undefined);
    await root.query(`DROP DATABASE IF EXISTS ${DB}`).catch(() => undefined);
    for (const u of [USER, VICTIM, `rt_new_${id}`]) await root.query(`DROP USER IF EXISTS '${u}'@'%'`).catch(() => undefined);
    await root.query(`DROP SERVER IF EXISTS rt_srv_${id}`).catch(() => undefined);
    await root.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the next call on each connection sees of its session. */
  async function sessionState(): Promise<string> {
    const out: string[] = [];
    for (const connection of ['ro', 'rw']) {
      const r = await h.client.callTool({ name: 'execute_query', arguments: { connection, query: 'SELECT DATABASE() AS d, @@sql_mode AS m, @x AS x, @@time_zone AS tz, @@character_set_client AS cs' } });
      out.push(JSON.stringify(r.structuredContent ?? r.content).replace(/"elapsed_ms":[\d.]+/g, ''));
    }
    return out.join('\n');
  }

  async function victimLogsIn(): Promise<boolean> {
    const mysql = await import('mysql2/promise');
    try {
      const c = await mysql.createConnection(MYSQL_URL.replace(/\/\/[^@/]*@/, `//${VICTIM}:${VICTIM_PW}@`).replace(/\/[^/]*$/, '/'));
      await c.end();
      return true;
    } catch {
      return false;
    }
  }

  it('no attack has an effect, read-only or read-write', async () => {
    const witness: Witness = {
      token,
      content: `${token}\n`,
      async effects() {
        const out: string[] = [];
        try {
          await peer.query('select 1');
        } catch {
          out.push('the peer session was ended');
          const mysql = await import('mysql2/promise');
          peer = await mysql.createConnection(MYSQL_URL.replace(/\/\/[^@/]*@/, `//${USER}:${PW}@`).replace(/\/[^/]*$/, `/${DB}`));
          values.PEERID = peer.threadId ?? 0;
        }
        // The next call on each connection first: it waits for the attack's connection to
        // be reset (after the answer, with pool_size 1), so what follows is what the attack
        // left, not a named lock seen in the milliseconds before COM_RESET_CONNECTION released
        // it (under load, three attacks were reported so).
        const s = await sessionState();
        if (s !== sessionBase) out.push(`the next call's session changed: ${s}`);
        const now = await state(root, dir);
        if (now !== base) out.push(`state changed: ${now}`);
        if (!(await victimLogsIn())) {
          out.push('the victim account lost its password');
          await root.query(`ALTER USER '${VICTIM}'@'%' IDENTIFIED BY '${VICTIM_PW}'`);
        }
        return out;
      },
      async rebase() {
        await root.query("select release_all_locks()").catch(() => undefined);
        sessionBase = await sessionState();
        base = await state(root, dir);
      },
    };
    const attacks = ATTACKS.map((a) => ({ ...a, sql: Array.isArray(a.sql) ? a.sql.map((s) => fill(s, values)) : fill(a.sql, values) }));
    const report = await runRedTeam(h, witness, attacks, 'mysql');
    expect(report.effects).toEqual([]);
  }, 600_000);
});
