/**
 * MariaDB's table reader for an account with only SELECT on the database, as a read-only
 * reporting or backup account is. MariaDB 10.11 shows such an account KEY_COLUMN_USAGE but
 * not REFERENTIAL_CONSTRAINTS: the foreign keys' rules come from SHOW CREATE TABLE, and
 * get_schema says the same as it says to root, every rule and the default (RESTRICT)
 * included. Also here: a JSON column whose name holds a backtick (its json_valid check
 * doubles it) reads as json.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, MYSQL_URL } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const SETUP = [
  'CREATE TABLE parent (id INT PRIMARY KEY, a INT, b INT, UNIQUE KEY ab (a, b))',
  // Every rule, each one alone and in pairs; the rules left out are the default.
  `CREATE TABLE child (id INT PRIMARY KEY, p1 INT, p2 INT, p3 INT, p4 INT, p5 INT, a INT, b INT,
    CONSTRAINT f_cascade FOREIGN KEY (p1) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT f_null FOREIGN KEY (p2) REFERENCES parent (id) ON DELETE SET NULL,
    CONSTRAINT f_default FOREIGN KEY (p3) REFERENCES parent (id),
    CONSTRAINT f_noaction FOREIGN KEY (p4) REFERENCES parent (id) ON DELETE NO ACTION ON UPDATE SET NULL,
    CONSTRAINT \`f odd\`\`name\` FOREIGN KEY (p5) REFERENCES parent (id) ON UPDATE RESTRICT ON DELETE CASCADE,
    CONSTRAINT f_pair FOREIGN KEY (a, b) REFERENCES parent (a, b) ON UPDATE CASCADE)`,
  'CREATE TABLE docs (id INT PRIMARY KEY, `we``ird` JSON, plain JSON)',
];

describe.runIf(BACKENDS.some((b) => b.name === 'mysql'))('get_schema for an account with only SELECT (MariaDB)', () => {
  let db: { url: string; drop(): Promise<void> };
  let root: Harness;
  let reader: Harness;
  const user = `cmx_sel_${process.pid}`;

  beforeAll(async () => {
    db = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'selonly');
    const name = new URL(db.url).pathname.slice(1);
    const admin = await mysql.createConnection(db.url);
    for (const q of SETUP) await admin.query(q);
    await admin.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY 'pw'`);
    await admin.query(`GRANT SELECT ON \`${name}\`.* TO '${user}'@'%'`);
    await admin.end();
    root = await startInProcess({ db: { url: db.url } });
    const u = new URL(MYSQL_URL);
    reader = await startInProcess({ db: { url: `mysql://${user}:pw@${u.host}/${name}` } });
  });

  afterAll(async () => {
    await root?.close();
    await reader?.close();
    const admin = await mysql.createConnection(MYSQL_URL);
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.end();
    await db?.drop();
  });

  const schema = async (h: Harness, table: string): Promise<unknown> => {
    const r = await callTool(h.client, 'get_schema', { connection: 'db', table });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    return r.data;
  };

  it('reads every foreign key rule as root reads it', async () => {
    const seen = await schema(reader, 'child');
    expect(seen).toEqual(await schema(root, 'child'));
    const text = JSON.stringify(seen);
    // What root reads, spelt out, so the two cannot agree on something wrong.
    for (const [column, onDelete, onUpdate] of [['p1', 'cascade', 'cascade'], ['p2', 'set null', 'restrict'], ['p3', 'restrict', 'restrict'], ['p4', 'no action', 'set null'], ['p5', 'cascade', 'restrict']]) {
      expect(text).toMatch(new RegExp(`"name":"${column}"[^}]*"references":\\{[^}]*"on_delete":"${onDelete}","on_update":"${onUpdate}"`));
    }
    expect(text).toContain('"name":"f odd`name"');
    expect(text).toMatch(/"name":"f_pair","columns":\["a","b"\][^}]*\}[^}]*"on_delete":"restrict","on_update":"cascade"/);
  });

  it('reads a JSON column whose name holds a backtick as json', async () => {
    const seen = await schema(root, 'docs');
    expect(seen).toEqual(await schema(reader, 'docs'));
    expect(JSON.stringify(seen)).toMatch(/"name":"we`ird","type":"json"/);
    expect(JSON.stringify(seen)).toMatch(/"name":"plain","type":"json"/);
  });
});
