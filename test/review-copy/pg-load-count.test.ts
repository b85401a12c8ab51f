/**
 * Review of 3497167: PostgreSQL restores trust COPY's CommandComplete count instead of
 * counting the table after the load. COPY's count is the rows that reached heap_insert
 * (BEFORE triggers returning NULL excluded); count(*) is the rows the table holds. They
 * differ in both directions, and the restore now answers differently from before:
 *  - an AFTER INSERT trigger deletes the rows it was given: COPY says n, the table holds
 *    none; the old count caught it (INTERNAL), the new path reports success (data loss).
 *  - a parent whose BEFORE INSERT trigger routes rows into an inheritance child (the
 *    classic trigger-based partitioning): COPY says 0, count(*) on the parent (children
 *    included) says n; the old check passed, the new path fails with INTERNAL.
 * Controls: declarative partitions with a DEFAULT partition, and an empty table, load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.runIf(pg)('review-copy: PostgreSQL restore row check vs COPY count', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;

  const run = async (connection: string, query: string): Promise<Json> => {
    const r = await callTool(h.client, 'execute_query', { connection, query });
    if (!r.ok) throw new Error(`${r.error.code} ${r.error.message}`);
    return r.data as Json;
  };
  const n = async (table: string): Promise<number> => Number((await run('dst', `SELECT count(*) AS n FROM ${table}`)).rows[0][0]);

  beforeAll(async () => {
    src = await freshDatabase(pg!, 'rvcopy_s');
    dst = await freshDatabase(pg!, 'rvcopy_d');
    h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: tempDir('cmx-rvcopy-') });
    await run('src', 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('src', "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
    await run('src', 'CREATE TABLE nothing (id integer PRIMARY KEY)');
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['items', 'nothing'], output_path: 'items.cmx.gz' });
    if (!b.ok) throw new Error(`${b.error.code} ${b.error.message}`);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    for (const d of [src, dst]) await d?.drop();
  });

  const reset = async (): Promise<void> => {
    await run('dst', 'DROP TABLE IF EXISTS items CASCADE');
    await run('dst', 'DROP TABLE IF EXISTS nothing CASCADE');
    await run('dst', 'CREATE TABLE nothing (id integer PRIMARY KEY)');
  };

  it('AFTER INSERT trigger that deletes the rows: the restore must not report success (the old count caught it)', async () => {
    await reset();
    await run('dst', 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('dst', "CREATE OR REPLACE FUNCTION rv_vanish() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN DELETE FROM items WHERE id = NEW.id; RETURN NULL; END$$");
    await run('dst', 'CREATE TRIGGER rv_vanish AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION rv_vanish()');
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' });
    const held = await n('items');
    // Today: ok=true, rows=1000 reported, table holds 0.
    expect({ ok: r.ok, held }).toEqual({ ok: false, held: 0 });
    if (!r.ok) expect(r.error.code).toBe('INTERNAL');
  });

  it('trigger-routed inheritance parent (rows stored in a child): the restore must succeed as before', async () => {
    await reset();
    await run('dst', 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(20))');
    await run('dst', 'CREATE TABLE items_low (CHECK (id <= 500)) INHERITS (items)');
    await run('dst', 'CREATE TABLE items_high (CHECK (id > 500)) INHERITS (items)');
    await run('dst', "CREATE OR REPLACE FUNCTION rv_route() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN IF NEW.id <= 500 THEN INSERT INTO items_low VALUES (NEW.*); ELSE INSERT INTO items_high VALUES (NEW.*); END IF; RETURN NULL; END$$");
    await run('dst', 'CREATE TRIGGER rv_route BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION rv_route()');
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' });
    // Today: INTERNAL "the server stored 0 rows of the 1000 sent", nothing restored.
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    expect(await n('items')).toBe(1000);
  });

  it('control: declarative partitions with a DEFAULT partition load every row (append)', async () => {
    await reset();
    await run('dst', 'CREATE TABLE items (id integer, name varchar(20), PRIMARY KEY (id)) PARTITION BY RANGE (id)');
    await run('dst', 'CREATE TABLE items_a PARTITION OF items FOR VALUES FROM (1) TO (300)');
    await run('dst', 'CREATE TABLE items_def PARTITION OF items DEFAULT');
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    expect(await n('items')).toBe(1000);
    expect(await n('items_def')).toBe(701);
  });

  it('control: rows that fit no partition fail with the server error, nothing restored', async () => {
    await reset();
    await run('dst', 'CREATE TABLE items (id integer, name varchar(20), PRIMARY KEY (id)) PARTITION BY RANGE (id)');
    await run('dst', 'CREATE TABLE items_a PARTITION OF items FOR VALUES FROM (1) TO (300)');
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'append' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).not.toBe('INTERNAL');
    expect(await n('items')).toBe(0);
  });

  it('control: replace mode with an empty table loads', async () => {
    await reset();
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'items.cmx.gz', mode: 'replace' });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    expect(await n('items')).toBe(1000);
    expect(await n('nothing')).toBe(0);
  });
});
