/**
 * alter_table on columns whose native type was read from the database (MariaDB ENUM
 * and SET, a PostgreSQL enum type): a new default is checked against the column as it
 * is, and the type, labels and case included, is left exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const CASES = {
  mysql: {
    setup: ["CREATE TABLE film (id int PRIMARY KEY, rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G', features SET('Trailers','Commentaries') DEFAULT NULL)"],
    changes: [{ name: 'rating', default: 'NC-17' }, { name: 'features', default: 'Trailers,Commentaries' }],
    typeQuery: "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, COLUMN_DEFAULT AS dflt FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'film' AND COLUMN_NAME <> 'id' ORDER BY COLUMN_NAME",
    expected: [["features", "set('Trailers','Commentaries')", "'Trailers,Commentaries'"], ['rating', "enum('G','PG','PG-13','R','NC-17')", "'NC-17'"]],
  },
  postgres: {
    setup: ["CREATE TYPE mpaa AS ENUM ('G', 'PG', 'NC-17')", "CREATE TABLE film (id int PRIMARY KEY, rating mpaa DEFAULT 'G')"],
    changes: [{ name: 'rating', default: 'NC-17' }],
    typeQuery: "SELECT column_name AS name, udt_name AS type, column_default AS dflt FROM information_schema.columns WHERE table_name = 'film' AND column_name <> 'id' ORDER BY column_name",
    expected: [['rating', 'mpaa', "'NC-17'::mpaa"]],
  },
} as const;

describe.each(BACKENDS.filter((b) => b.name in CASES))('alter_table default of a native column on $name', (backend) => {
  const c = CASES[backend.name as keyof typeof CASES];
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    db = await freshDatabase(backend, 'natdef');
    h = await startInProcess({ db: { url: db.url } });
    for (const query of c.setup) {
      const r = await callTool(h.client, 'execute_query', { connection: 'db', query });
      if (!r.ok) throw new Error(`${query}: ${r.error.message}`);
    }
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('changes the default and keeps the type as the database had it', async () => {
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'film', changes: { alter_columns: c.changes } });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    const rows = await callTool(h.client, 'execute_query', { connection: 'db', query: c.typeQuery });
    if (!rows.ok) throw new Error(rows.error.message);
    const got = JSON.stringify(rows.data.rows);
    for (const [name, type, dflt] of c.expected) {
      expect(got).toContain(JSON.stringify(name));
      expect(got).toContain(JSON.stringify(type));
      expect(got).toContain(JSON.stringify(dflt));
    }
  });

  it('refuses a default the database refuses, and changes nothing', async () => {
    const r = await callTool(h.client, 'alter_table', { connection: 'db', table: 'film', changes: { alter_columns: [{ name: 'rating', default: 'not-a-rating' }] } });
    expect(r.ok).toBe(false);
    const rows = await callTool(h.client, 'execute_query', { connection: 'db', query: c.typeQuery });
    if (!rows.ok) throw new Error(rows.error.message);
    expect(JSON.stringify(rows.data.rows)).toContain(JSON.stringify(c.expected.find((e) => e[0] === 'rating')![2]));
  });
});
