/**
 * A portable MariaDB/MySQL backup carries the server's own DDL (SPEC §17.1 `ddl`,
 * `objects`): a restore into the same backend gives back the exact catalog (FULLTEXT and
 * descending prefix indexes, ON UPDATE with fractional precision, utf8mb3 columns, ENUM
 * labels, AUTO_INCREMENT position, generated columns, a sequence in a default), JSON text byte for byte, and views (one naming
 * another that sorts first), routines, triggers (not fired by the load) and events.
 * Named tables carry their triggers only; replace recreates the objects; a create that
 * meets an object already there takes back what it made and leaves that object alone;
 * an account that cannot read a routine gets PERMISSION_DENIED; another backend lists
 * the objects in `lossy`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, rowsOf, startInProcess, type Harness } from '../support/mcp.js';
import { differences, mysqlSnapshot } from '../fidelity/catalog.js';

type Json = Record<string, any>;
type Db = { url: string; drop(): Promise<void> };
const my = BACKENDS.find((b) => b.name === 'mysql');
const sqlite = BACKENDS.find((b) => b.name === 'sqlite');
const DOC = '{"b": 1,   "a": [1, 2.50, "\u00e9"]}';

const SCHEMA = [
  `CREATE TABLE docs (id INT AUTO_INCREMENT PRIMARY KEY, doc JSON, label ENUM('Low','HIGH') NOT NULL DEFAULT 'Low',
    name VARCHAR(20) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin, plain TIMESTAMP NULL,
    ts TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    name_len INT AS (CHAR_LENGTH(name)) VIRTUAL, label_up VARCHAR(10) AS (UPPER(label)) STORED,
    FULLTEXT KEY ft (name), KEY pre (name(5) DESC, label), KEY up (label_up)) AUTO_INCREMENT = 100`,
  'CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50))',
  // A key of 0 in an AUTO_INCREMENT column is a value to keep, not a request for the next one.
  'CREATE TABLE zero (id INT AUTO_INCREMENT PRIMARY KEY, v INT)',
  "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
  'INSERT INTO zero VALUES (0, 1), (5, 2)',
  // A MariaDB sequence a default takes from: created before the tables, at its position.
  'CREATE SEQUENCE seq START WITH 100 CACHE 10',
  'CREATE TABLE numbered (id INT NOT NULL DEFAULT NEXTVAL(seq) PRIMARY KEY, v INT)',
  'INSERT INTO numbered (v) VALUES (1), (2)',
  "CREATE TRIGGER docs_ai AFTER INSERT ON docs FOR EACH ROW INSERT INTO log (what) VALUES (CONCAT('doc ', NEW.id))",
  'CREATE VIEW v1 AS SELECT id, label FROM docs',
  'CREATE VIEW a_v2 AS SELECT id FROM v1 WHERE label = \'HIGH\'',
  'CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x * 2',
  'CREATE PROCEDURE p_count(OUT n INT) READS SQL DATA SELECT COUNT(*) INTO n FROM docs',
  "CREATE EVENT ev_purge ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM log WHERE id < 0",
];

describe.runIf(my)('portable MySQL backups carry the server\'s DDL', () => {
  let src: Db;
  const dsts: Record<string, Db> = {};
  let h: Harness;
  let whole = '';

  const must = async (name: string, args: Json): Promise<Json> => {
    const r = await callTool(h.client, name, args);
    if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`);
    return r.data as Json;
  };
  const query = async (connection: string, q: string): Promise<Json[]> => rowsOf(await must('execute_query', { connection, query: q })) as Json[];

  beforeAll(async () => {
    src = await freshDatabase(my!, 'ddl_src');
    for (const k of ['a', 'b', 'c', 'd']) dsts[k] = await freshDatabase(my!, `ddl_${k}`);
    const lite: Record<string, { url: string }> = sqlite ? { lite: { url: (await freshDatabase(sqlite, 'ddl_lite')).url } } : {};
    h = await startInProcess({ src: { url: src.url }, ...Object.fromEntries(Object.entries(dsts).map(([k, d]) => [k, { url: d.url }])), ...lite }, { backup_dir: tempDir('cmx-myddl-') });
    // Straight through the driver: agent SQL may not create events (they run later as their definer).
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection(src.url);
    try {
      for (const q of SCHEMA) await conn.query(q);
    } finally {
      await conn.end();
    }
    await must('execute_query', { connection: 'src', query: `INSERT INTO docs (doc, label, name, plain, ts) VALUES ('${DOC}', 'HIGH', 'Zoë', '2024-01-02 03:04:05', '2024-01-02 03:04:05.678'), (NULL, 'Low', 'abc', NULL, '2024-05-06 07:08:09.100')` });
    whole = (await must('create_backup', { database: 'src' })).backup;
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    for (const d of [src, ...Object.values(dsts)]) await d?.drop();
  });

  it('restores the exact catalog and rows, then keys and triggers go on working', async () => {
    await must('restore_backup', { database: 'a', backup_path: whole });
    expect(differences(await mysqlSnapshot(src.url), await mysqlSnapshot(dsts.a.url))).toEqual([]);
    // The JSON text is the document as written, not the server's rewriting of it.
    expect((await query('a', 'SELECT CAST(doc AS CHAR) AS doc FROM docs WHERE id = 100'))[0].doc).toBe(DOC);
    // The load fired no trigger: log has what the source's log has (the two source inserts).
    expect((await query('a', 'SELECT COUNT(*) AS n FROM log'))[0].n).toBe(2);
    await must('execute_query', { connection: 'a', query: "INSERT INTO docs (label) VALUES ('Low')" });
    expect(await query('a', 'SELECT MAX(id) AS id FROM docs')).toEqual([{ id: 102 }]);
    expect(await query('a', 'SELECT what FROM log ORDER BY id DESC LIMIT 1')).toEqual([{ what: 'doc 102' }]);
    expect(await query('a', 'SELECT f_double(21) AS x, (SELECT COUNT(*) FROM a_v2) AS high')).toEqual([{ x: 42, high: 1 }]);
    // The copy's default takes from its own sequence, not the source's.
    await must('execute_query', { connection: 'a', query: 'INSERT INTO numbered (v) VALUES (3)' });
    expect(await query('a', 'SELECT id FROM numbered WHERE v = 3')).toEqual([{ id: 110 }]);
    expect(await query('src', 'SELECT next_not_cached_value AS n FROM seq')).toEqual([{ n: 110 }]);
  });

  it('replace recreates the objects; named tables carry their triggers only', async () => {
    await must('restore_backup', { database: 'a', backup_path: whole, mode: 'replace' });
    expect(differences(await mysqlSnapshot(src.url), await mysqlSnapshot(dsts.a.url))).toEqual([]);
    const named = (await must('create_backup', { database: 'src', tables: ['docs', 'log'] })).backup;
    await must('restore_backup', { database: 'b', backup_path: named });
    const kinds = await query('b', `SELECT (SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()) AS t,
      (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()) + (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()) AS other`);
    expect(kinds).toEqual([{ t: 'docs_ai', other: 0 }]);
  });

  it('a create that meets an object already there takes back its tables and leaves the object', async () => {
    await must('execute_query', { connection: 'c', query: 'CREATE VIEW v1 AS SELECT 1 AS mine' });
    const r = await callTool(h.client, 'restore_backup', { database: 'c', backup_path: whole });
    expect(r.ok).toBe(false);
    const left = await query('c', "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) AS t, (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()) AS r FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'codomyrmex%'");
    expect(left).toEqual([{ t: 'v1', r: 0 }]);
    expect(await query('c', 'SELECT mine FROM v1')).toEqual([{ mine: 1 }]);
  });

  it('refuses with PERMISSION_DENIED when the account cannot read a routine; named tables still back up', async () => {
    const mysql = await import('mysql2/promise');
    const root = await mysql.createConnection(MYSQL_URL);
    const db = new URL(src.url).pathname.slice(1);
    const user = `cmx_myddl_${process.pid}`;
    try {
      await root.query(`CREATE OR REPLACE USER '${user}'@'%' IDENTIFIED BY 'pw-1'`);
      await root.query(`GRANT ALL ON \`${db}\`.* TO '${user}'@'%'`);
      const h2 = await startInProcess({ low: { url: src.url.replace(/\/\/[^@/]*@/, `//${user}:pw-1@`) } }, { backup_dir: tempDir('cmx-myddl2-') });
      try {
        const b = await callTool(h2.client, 'create_backup', { database: 'low' });
        expect(b.ok ? 'ok' : b.error.code).toBe('PERMISSION_DENIED');
        const named = await callTool(h2.client, 'create_backup', { database: 'low', tables: ['docs'] });
        expect(named.ok ? 'ok' : named.error.message).toBe('ok');
      } finally {
        await h2.close();
      }
      // SELECT only: the views cannot be read (SHOW VIEW), nor the events (EVENT).
      await root.query(`CREATE OR REPLACE USER '${user}_ro'@'%' IDENTIFIED BY 'pw-1'`);
      await root.query(`GRANT SELECT ON \`${db}\`.* TO '${user}_ro'@'%'`);
      const h3 = await startInProcess({ ro: { url: src.url.replace(/\/\/[^@/]*@/, `//${user}_ro:pw-1@`) } }, { backup_dir: tempDir('cmx-myddl3-') });
      try {
        const b = await callTool(h3.client, 'create_backup', { database: 'ro' });
        expect(b.ok ? 'ok' : `${b.error.code} ${b.error.message}`).toMatch(/^PERMISSION_DENIED .*grant SHOW VIEW/);
      } finally {
        await h3.close();
      }
    } finally {
      await root.query(`DROP USER IF EXISTS '${user}_ro'@'%'`);
      await root.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await root.end();
    }
  });

  it.runIf(sqlite)('another backend lists the objects in lossy', async () => {
    const r = await callTool(h.client, 'restore_backup', { database: 'lite', backup_path: whole });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
    const lossy = JSON.stringify(r.ok ? [] : r.error.details?.lossy);
    for (const name of ['docs_ai', 'v1', 'a_v2', 'f_double', 'p_count', 'ev_purge']) expect(lossy).toContain(name);
  });
});
