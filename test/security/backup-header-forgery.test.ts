/**
 * A portable backup's header is input (anyone who can write backup_dir can edit it and
 * recompute the checksums), and its table definitions become DDL on the target. The review
 * of issue 15 found a foreign key's `on_update` of `restrict; drop table victim; --` run as
 * a second statement on PostgreSQL (MariaDB refused it only because it runs one statement).
 * The class: every field of a table entry, forged, is refused as BACKUP_CORRUPT before
 * anything is touched, on a restore into the same backend and into another one; the
 * target's own table is intact and nothing of the backup was made. SQL text the DDL copies
 * (a default's, a check's) is refused by the DDL builder (INVALID_INPUT) or, across
 * backends, not carried and listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { craft, editHeader } from '../support/backup-file.js';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { MY, PG, callTool, mariadb, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

const EVIL = 'restrict; DROP TABLE victim; --';

/** `sql`: SQL text the DDL copies, which the DDL builder refuses itself (INVALID_INPUT) and a restore into another backend drops, listed in lossy. */
type Forgery = [string, (h: Json) => void, 'sql'?];
/** Each edits the header of a backup of parent (id serial key, code) and child (id key, parent_id → parent ON DELETE CASCADE, a, b → parent2 (a, b)). */
const FORGERIES: Forgery[] = [
  ['references.on_update', (h) => { col(h, 'child', 'parent_id').references.on_update = EVIL; }],
  ['references.on_delete', (h) => { col(h, 'child', 'parent_id').references.on_delete = EVIL; }],
  ['foreign_keys[].on_delete', (h) => { table(h, 'child').definition.foreign_keys[0].on_delete = EVIL; }],
  ['sequence.next', (h) => { table(h, 'parent').sequence.next = '1); DROP TABLE victim; --'; }],
  ['sequence.column not a column', (h) => { table(h, 'parent').sequence.column = 'nope'; }],
  ['columns[].encoding', (h) => { table(h, 'child').columns[1].encoding = 'evil'; }],
  ['columns[] longer than the definition', (h) => { table(h, 'child').columns.push({ name: 'extra', encoding: 'integer' }); }],
  ['columns[] in another order', (h) => { table(h, 'child').columns.reverse(); }],
  ['order_by naming no column', (h) => { table(h, 'child').order_by = ['nope']; }],
  ['an unknown key on a column', (h) => { col(h, 'child', 'a').evil = 'x'; }],
  ['a column without its flags', (h) => { delete col(h, 'child', 'a').nullable; }],
  ['definition.table other than the entry', (h) => { table(h, 'child').definition.table = 'victim'; }],
  ['a NUL in a column name', (h) => { col(h, 'child', 'a').name = 'a\u0000'; table(h, 'child').columns[2].name = 'a\u0000'; }],
  ['a type that is no type', (h) => { col(h, 'child', 'a').type = 'integer); DROP TABLE victim; --'; table(h, 'child').columns[2].encoding = 'integer'; }],
  ['a default expression that ends the statement', (h) => { col(h, 'child', 'a').default = { sql: '1); DROP TABLE victim; --' }; }, 'sql'],
  ['a check expression that ends the statement', (h) => { table(h, 'child').definition.checks = [{ name: 'c', expression: 'true); DROP TABLE victim; --' }]; }, 'sql'],
];

function table(h: Json, name: string): Json {
  return h.tables.find((t: Json) => t.name === name);
}
function col(h: Json, t: string, name: string): Json {
  return table(h, t).definition.columns.find((c: Json) => c.name === name);
}

const SOURCE = `CREATE TABLE parent (id serial PRIMARY KEY, code int NOT NULL);
CREATE TABLE parent2 (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id) ON DELETE CASCADE, a int, b int, FOREIGN KEY (a, b) REFERENCES parent2 (a, b));
INSERT INTO parent (code) VALUES (1), (2); INSERT INTO parent2 VALUES (1, 1); INSERT INTO child VALUES (1, 1, 1, 1);`;

const targets = [PG, MY].filter((b) => BACKENDS.some((x) => x.name === b.name));

describe.each(targets)('forged portable PostgreSQL backup headers restored into $name', (target) => {
  let rt: RoundTrip;
  let backup: string;
  const sql = (script: string): string => (target.name === 'postgres' ? psql(rt.dst.url, script) : mariadb(rt.dst.url, script));
  beforeAll(async () => {
    rt = await pair(PG, target, `hf${target.name.slice(0, 2)}`);
    psql(rt.src.url, SOURCE);
    sql('CREATE TABLE victim (id int); INSERT INTO victim VALUES (42);');
    const made = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (!made.ok) throw new Error(made.error.message);
    backup = String(made.data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores the untouched backup (the forgeries below are what make it fail)', async () => {
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: backup, mode: 'replace', allow_lossy: true });
    expect(r.ok ? 'ok' : r.error.message).toBe('ok');
    expect(sql('SELECT count(*) FROM child').trim()).toBe('1');
    sql('DROP TABLE child; DROP TABLE parent; DROP TABLE parent2;');
  });

  const tablesMade = (): string => (target.name === 'postgres'
    ? psql(rt.dst.url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'victim'")
    : mariadb(rt.dst.url, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'victim'")).trim();

  it.each(FORGERIES)('%s: refused before anything is touched (or, SQL text across backends, dropped and listed)', async (what, edit, kind) => {
    const f = craft(rt.dir, backup, `forged-${what.replace(/\W+/g, '-')}.cmx.gz`, editHeader(edit));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f, mode: 'replace', allow_lossy: true });
    expect(sql('SELECT id FROM victim').trim()).toBe('42');
    if (kind === 'sql' && target.name !== 'postgres') {
      expect(r.ok && JSON.stringify(r.data.lossy)).toMatch(/check constraint|default expression/);
      sql('DROP TABLE child; DROP TABLE parent; DROP TABLE parent2;');
      return;
    }
    expect(r.ok ? 'ok' : r.error.code).toBe(kind === 'sql' ? 'INVALID_INPUT' : 'BACKUP_CORRUPT');
    expect(tablesMade()).toBe('0');
  });
});

/**
 * The source's own DDL in a MariaDB header (`ddl`, `objects`) runs as written on a restore
 * into the same flavour. The second review found it could reach another database: `CREATE
 * OR REPLACE TABLE other.t` emptied a table there, `CREATE INDEX … ON other.t` and `CREATE OR
 * REPLACE VIEW other.v` changed objects there, and `CREATE TABLE t … AS SELECT … FROM
 * other.t` copied rows from there; a `varchar(3)` for the definition's `varchar(100)` cut
 * values (the load of a table made from the source's DDL is not strict). Each is now
 * BACKUP_CORRUPT before any row, the other database is as it was, nothing is left.
 */
describe.runIf(BACKENDS.some((b) => b.name === 'mysql'))('forged MariaDB table DDL and objects', () => {
  let rt: RoundTrip;
  let backup: string;
  let other: { url: string; drop(): Promise<void> };
  let db: string;
  const state = (): string => mariadb(other.url, "SELECT concat((SELECT count(*) FROM t), ':', (SELECT count(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'), ':', (SELECT x FROM v), ':', (SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()))").trim();
  beforeAll(async () => {
    rt = await pair(MY, MY, 'hfmd');
    other = await freshDatabase(MY, 'hfmo');
    db = new URL(other.url).pathname.slice(1);
    mariadb(other.url, 'CREATE TABLE t (id int PRIMARY KEY, v varchar(100)); INSERT INTO t VALUES (1, \'a\'), (2, \'b\'); CREATE VIEW v AS SELECT 1 AS x; CREATE TABLE 1secret (s varchar(40)); INSERT INTO 1secret VALUES (\'top-secret-42\');');
    mariadb(rt.src.url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(100)); INSERT INTO t VALUES (7, 'z'); CREATE VIEW v AS SELECT 2 AS x;");
    const made = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (!made.ok) throw new Error(made.error.message);
    backup = String(made.data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); await other?.drop(); });

  const forgeries = (): Forgery[] => [
    ['CREATE OR REPLACE TABLE of another database', (h) => { table(h, 't').ddl[0] = `CREATE OR REPLACE TABLE \`${db}\`.\`t\` (id int PRIMARY KEY, v varchar(100))`; }],
    ['CREATE TABLE of another database', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`${db}\`.\`t2\` (id int PRIMARY KEY, v varchar(100))`; }],
    ['OR REPLACE of its own table', (h) => { table(h, 't').ddl[0] = 'CREATE OR REPLACE TABLE `t` (id int PRIMARY KEY, v varchar(100))'; }],
    ['AS SELECT from another database', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`t\` (id int PRIMARY KEY, v varchar(100)) AS SELECT id + 100 AS id, v FROM \`${db}\`.\`t\``; }],
    ['SELECT without AS', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`t\` (id int PRIMARY KEY, v varchar(100)) SELECT id + 100 AS id, v FROM \`${db}\`.t`; }],
    ['LIKE another database\'s table', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`t\` LIKE \`${db}\`.\`t\``; }],
    ['an index on another database\'s table', (h) => { table(h, 't').ddl = [...(table(h, 't').ddl as string[]), `CREATE INDEX evil ON \`${db}\`.\`t\` (v)`]; }],
    ['a view of another database', (h) => { h.objects = (h.objects as Json[]).map((o) => (o.kind === 'view' ? { ...o, sql: `CREATE OR REPLACE VIEW \`${db}\`.\`v\` AS SELECT 666 AS x` } : o)); }],
    ['a FEDERATED engine', (h) => { table(h, 't').ddl[0] = 'CREATE TABLE `t` (id int PRIMARY KEY, v varchar(100)) ENGINE=FEDERATED CONNECTION=\'mysql://root@127.0.0.1:3306/mysql/user\''; }],
    ['a narrower column than its definition', (h) => { table(h, 't').ddl[0] = 'CREATE TABLE `t` (`id` int(11) NOT NULL, `v` varchar(3) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB'; }],
    ['another character set than its definition', (h) => { table(h, 't').ddl[0] = 'CREATE TABLE `t` (`id` int(11) NOT NULL, `v` varchar(100) CHARACTER SET ascii DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB'; }],
    ['rows read from another database inside an executable comment', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`t\` (\`id\` int(11) NOT NULL, \`v\` varchar(100) DEFAULT NULL, PRIMARY KEY (\`id\`)) ENGINE=InnoDB /*! SELECT id + 100 AS id, v FROM \`${db}\`.\`t\` */`; }],
    ['a data directory inside an executable comment', (h) => { table(h, 't').ddl[0] = "CREATE TABLE `t` (`id` int(11) NOT NULL, `v` varchar(100) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB /*! DATA DIRECTORY='/tmp/cmx-forged' */"; }],
    ['a MERGE table over another database\'s', (h) => { table(h, 't').ddl[0] = `CREATE TABLE \`t\` (id int PRIMARY KEY, v varchar(100)) ENGINE=MRG_MyISAM UNION=(\`${db}\`.\`t\`)`; }],
    // From the fourth review: the object's own sql_mode ends the string elsewhere, a query in parentheses, a digit-led table name, a partition's directory.
    ['a view made in another database under the object\'s own sql_mode', (h) => {
      h.objects = (h.objects as Json[]).map((o) => (o.kind === 'view' ? { ...o, sql: `CREATE DEFINER='a\\' VIEW \`${db}\`.planted AS SELECT 1 AS x -- ' VIEW v AS SELECT 1 AS x`, settings: { ...o.settings, sql_mode: 'NO_BACKSLASH_ESCAPES' } } : o));
    }],
    ['another database\'s rows read into the error by a query in parentheses', (h) => { table(h, 't').ddl[0] += ` (SELECT 1 AS id, EXTRACTVALUE(1, CONCAT(0x7e, (SELECT GROUP_CONCAT(s) FROM ${db}.1secret))) AS v)`; }],
    ['a server file read into the error by a query in parentheses', (h) => { table(h, 't').ddl[0] += " (SELECT 1 AS id, EXTRACTVALUE(1, CONCAT(0x7e, LOAD_FILE('/etc/hostname'))) AS v)"; }],
    ['a partition\'s data directory', (h) => { table(h, 't').ddl[0] += " PARTITION BY RANGE (`id`) (PARTITION p0 VALUES LESS THAN MAXVALUE DATA DIRECTORY = '/tmp/cmx-forged' ENGINE = InnoDB)"; }],
    // From the fifth review: a query made with VALUES, and MSSQL's [names] under the object's own sql_mode.
    ['a server file read into the error by a query made with VALUES', (h) => { table(h, 't').ddl[0] += " (VALUES (1, EXTRACTVALUE(1, CONCAT(0x7e, LOAD_FILE('/etc/hostname')))))"; }],
    ['a view made in another database under sql_mode MSSQL', (h) => {
      h.objects = (h.objects as Json[]).map((o) => (o.kind === 'view' ? { ...o, sql: `CREATE DEFINER=[a'] VIEW [${db}].planted AS SELECT 1 AS x -- ' VIEW v AS SELECT 1 AS x`, settings: { ...o.settings, sql_mode: 'MSSQL' } } : o));
    }],
  ];

  it('the untouched backup restores (the forgeries are what fail)', async () => {
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: backup });
    expect(r.ok ? 'ok' : r.error.message).toBe('ok');
    mariadb(rt.dst.url, 'DROP VIEW v; DROP TABLE t;');
  });

  it('each forgery: BACKUP_CORRUPT, the other database as it was, nothing made', async () => {
    const before = state();
    const out: string[] = [];
    for (const [what, edit] of forgeries()) {
      const f = craft(rt.dir, backup, `forged-my-${what.replace(/\W+/g, '-')}.cmx.gz`, editHeader(edit));
      const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
      const made = mariadb(rt.dst.url, 'SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()').trim();
      out.push(`${what}: ${r.ok ? 'ok' : r.error.code} ${state() === before ? 'other intact' : `other changed ${state()}`} made ${made}`);
    }
    expect(out).toEqual(forgeries().map(([what]) => `${what}: BACKUP_CORRUPT other intact made 0`));
  });
});

describe.runIf(BACKENDS.some((b) => b.name === 'postgres'))('forged PostgreSQL table ddl', () => {
  let rt: RoundTrip;
  let backup: string;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'hfpd');
    psql(rt.src.url, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, \'a\');');
    psql(rt.dst.url, 'CREATE SCHEMA other; CREATE TABLE other.victim (id int, v text); INSERT INTO other.victim VALUES (5, \'x\');');
    const made = await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['t'] });
    if (!made.ok) throw new Error(made.error.message);
    backup = String(made.data.backup);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('a header with ddl, which a PostgreSQL backup never writes, is BACKUP_CORRUPT; nothing read from another table', async () => {
    const f = craft(rt.dir, backup, 'forged-pg-ddl.cmx.gz', editHeader((h) => { table(h, 't').ddl = ['CREATE TABLE t AS SELECT id + 100 AS id, v FROM other.victim']; }));
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: f });
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
    expect(psql(rt.dst.url, "SELECT to_regclass('public.t') IS NULL").trim()).toBe('t');
  });
});
