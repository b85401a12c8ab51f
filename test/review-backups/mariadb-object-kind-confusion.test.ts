/**
 * Review 7, finding 1. check-ddl.ts created() finds the FIRST word equal to the kind's keyword
 * anywhere in the statement and only checks that no other kind's keyword, REPLACE or TEMP stands
 * between CREATE and it. So `CREATE SERVER view FOREIGN DATA WRAPPER …` is taken as a view named
 * FOREIGN, `CREATE USER event IDENTIFIED BY …` as an event named IDENTIFIED, `CREATE DATABASE view
 * CHARACTER SET …` as a view named CHARACTER (VIEW, EVENT, FUNCTION, SEQUENCE are not reserved in
 * MariaDB, so they are valid server, user, role and database names). The restore runs them: a
 * FEDERATED/SPIDER server, a login account and a database are made outside the restore's database,
 * and a restore that then fails takes back only `DROP VIEW IF EXISTS FOREIGN` etc., leaving them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { craft, editHeader } from '../support/backup-file.js';
import { callTool, mariadb, mustCall, reviewDatabase, root, server, type Harness, type Json } from './harness.js';

let h: Harness; let dir: string; let backup: string;
let src: { url: string; drop(): Promise<void> }; let dst: { url: string; drop(): Promise<void> };

const cleanGlobal = () => root("DROP SERVER IF EXISTS view; DROP USER IF EXISTS event; DROP DATABASE IF EXISTS `view`; DROP ROLE IF EXISTS `function`;");
beforeAll(async () => {
  src = await reviewDatabase('mysql', 'kcs'); dst = await reviewDatabase('mysql', 'kcd');
  ({ h, dir } = await server({ src: src.url, dst: dst.url }));
  mariadb(src.url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)); INSERT INTO t VALUES (1,'a'); CREATE VIEW v AS SELECT 1 AS x;");
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
  cleanGlobal();
}, 60_000);
afterAll(async () => { cleanGlobal(); await h?.close(); await src?.drop(); await dst?.drop(); });

const FORGED: Json[] = [
  { kind: 'view', name: 'FOREIGN', sql: "CREATE SERVER view FOREIGN DATA WRAPPER mysql OPTIONS (HOST '203.0.113.7', DATABASE 'x', USER 'root', PASSWORD 'attacker')" },
  { kind: 'event', name: 'IDENTIFIED', sql: "CREATE USER event IDENTIFIED BY 'rv7-attacker-pw'" },
  { kind: 'view', name: 'CHARACTER', sql: 'CREATE DATABASE view CHARACTER SET utf8mb4' },
  { kind: 'function', name: 'WITH', sql: 'CREATE ROLE function WITH ADMIN CURRENT_USER' },
];
const made = () => ({
  server: root("SELECT concat(Server_name, '->', Host) FROM mysql.servers WHERE Server_name = 'view'").trim(),
  user: root("SELECT concat(User, '@', Host) FROM mysql.user WHERE User = 'event'").trim(),
  database: root("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'view'").trim(),
  role: root("SELECT User FROM mysql.user WHERE User = 'function' AND is_role = 'Y'").trim(),
});

it('a forged object of one kind that is CREATE SERVER/USER/DATABASE/ROLE: refused before anything is touched', async () => {
  const f = craft(dir, backup, 'rv7-kind-confusion.cmx.gz', editHeader((hd) => { hd.objects.push(...FORGED); }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const seen = made();
  console.error('RV7 kind confusion', r.ok ? 'ok' : `${r.error.code} ${r.error.message}`, JSON.stringify(seen));
  mariadb(dst.url, 'DROP VIEW IF EXISTS v; DROP TABLE IF EXISTS t;'); cleanGlobal();
  expect({ r: r.ok ? 'ok' : r.error.code, ...seen }).toEqual({ r: 'BACKUP_CORRUPT', server: '', user: '', database: '', role: '' });
});

it('a restore that fails after such an object: reports failure and leaves nothing behind', async () => {
  const f = craft(dir, backup, 'rv7-kind-confusion-fail.cmx.gz', editHeader((hd) => {
    hd.objects.push(FORGED[0], { kind: 'view', name: 'zz', sql: 'CREATE VIEW zz AS SELECT * FROM no_such_table' });
  }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const seen = made();
  const left = mariadb(dst.url, 'SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()').trim();
  console.error('RV7 kind confusion + failure', r.ok ? 'ok' : `${r.error.code} ${r.error.message.slice(0, 200)}`, JSON.stringify(seen), left);
  mariadb(dst.url, 'DROP VIEW IF EXISTS v; DROP TABLE IF EXISTS t;'); cleanGlobal();
  expect({ failed: !r.ok, server: seen.server, left }).toEqual({ failed: true, server: '', left: '0' });
});
