/**
 * A MySQL/MariaDB foreign key to a table of another database (`REFERENCES other.parent`).
 * The portable table's `references` name a table of its own database, so such a key read
 * as one pointed at the local table of the same name (a restore elsewhere then made it
 * reference that table). It is said in the table's `unportable` and left out of the
 * portable form; a restore into MariaDB, from the table's own DDL, keeps it as it was, and
 * one into another backend lists it.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);

describe.runIf(have('mysql') && have('sqlite'))('a foreign key to another database (MariaDB)', () => {
  const dbs: Record<string, { url: string; drop(): Promise<void> }> = {};
  let h: Harness;
  const nameOf = (url: string): string => new URL(url).pathname.slice(1);

  beforeAll(async () => {
    const my = BACKENDS.find((b) => b.name === 'mysql')!;
    for (const n of ['other', 'src', 'copy']) dbs[n] = await freshDatabase(my, `ofk_${n}`);
    const c = await mysql.createConnection(dbs.src.url);
    await c.query(`CREATE TABLE \`${nameOf(dbs.other.url)}\`.parent (id INT PRIMARY KEY)`);
    await c.query(`INSERT INTO \`${nameOf(dbs.other.url)}\`.parent VALUES (1)`);
    await c.query('CREATE TABLE parent (id INT PRIMARY KEY)');
    await c.query(`CREATE TABLE child (id INT PRIMARY KEY, p INT, q INT REFERENCES parent (id), CONSTRAINT to_other FOREIGN KEY (p) REFERENCES \`${nameOf(dbs.other.url)}\`.parent (id))`);
    await c.query('INSERT INTO child VALUES (1, 1, NULL)');
    await c.end();
    h = await startInProcess({ src: { url: dbs.src.url }, copy: { url: dbs.copy.url }, lite: { url: `sqlite://${tempDir('cmx-ofk-')}/lite.db` } }, { backup_dir: tempDir('cmx-ofk-bk-') });
    await mustCall(h.client, 'create_backup', { database: 'src', output_path: 'o.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    // The databases that reference `other` first: MariaDB refuses to drop a referenced table.
    for (const d of Object.values(dbs).reverse()) await d.drop();
  });

  it('get_schema says it, and does not point the column at the local table', async () => {
    const child = (await mustCall(h.client, 'get_schema', { connection: 'src', table: 'child' })).table as Json;
    expect(child.columns.find((c: Json) => c.name === 'p').references).toBeUndefined();
    expect(child.columns.find((c: Json) => c.name === 'q').references).toMatchObject({ table: 'parent', column: 'id' });
    expect(child.unportable).toEqual([`foreign key to_other (p) to ${nameOf(dbs.other.url)}.parent, another database`]);
  });

  it('a restore into MariaDB keeps it as it was', async () => {
    await mustCall(h.client, 'restore_backup', { database: 'copy', backup_path: 'o.cmx.gz' });
    const c = await mysql.createConnection(dbs.copy.url);
    const [rows] = await c.query("SELECT REFERENCED_TABLE_SCHEMA AS s FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'to_other'");
    await c.end();
    expect(rows).toEqual([{ s: nameOf(dbs.other.url) }]);
  });

  it('a restore into SQLite lists it', async () => {
    const refused = await callTool(h.client, 'restore_backup', { database: 'lite', backup_path: 'o.cmx.gz' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('UNSUPPORTED');
    const r = await mustCall(h.client, 'restore_backup', { database: 'lite', backup_path: 'o.cmx.gz', allow_lossy: true });
    expect((r.lossy as Json[]).some((l) => l.table === 'child' && /foreign key to_other .* another database/.test(l.what))).toBe(true);
  });
});
