/**
 * PostgreSQL tables whose FROM reads more than their own rows, and values a cast to text
 * changes. Found on Booktown (authors / distinguished_authors) and Northwind (bpchar keys):
 * - an inheritance parent's FROM also returns its children's rows: a backup carried them
 *   twice, and a restore put the children's rows into the parent, reporting nothing lost
 *   (or, with the child created first, failed its own row count);
 * - `bpchar` without a length keeps the trailing spaces it was given; the backup read it
 *   through a cast to text, which drops them.
 * Partitioned tables must still read their partitions' rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { LITE, MY, PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

const SCHEMA = `
CREATE TABLE animal (id int PRIMARY KEY, name text);
CREATE TABLE dog (bark text) INHERITS (animal);
CREATE TABLE puppy () INHERITS (dog);
-- Sorts before its parent: created, loaded and counted first.
CREATE TABLE parent (id int PRIMARY KEY, v text);
CREATE TABLE achild (extra int) INHERITS (parent);
CREATE TABLE m (id int, r text, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
CREATE TABLE m_a PARTITION OF m FOR VALUES IN ('a');
CREATE TABLE m_b PARTITION OF m FOR VALUES IN ('b') PARTITION BY LIST (id);
CREATE TABLE m_b1 PARTITION OF m_b FOR VALUES IN (1);
CREATE TABLE pad (id int PRIMARY KEY, b bpchar, c char(5), bs bpchar[]);
-- NULLS NOT DISTINCT: the portable unique lets NULLs repeat.
CREATE TABLE q (id int PRIMARY KEY, c int, CONSTRAINT q_c_key UNIQUE NULLS NOT DISTINCT (c));
-- A primary key of its own name (Northwind's pk_categories): a table made from the portable definition names it q2_pkey.
CREATE TABLE q2 (id int CONSTRAINT pk_q2 PRIMARY KEY);
INSERT INTO animal VALUES (1, 'cat');
INSERT INTO dog VALUES (2, 'rex', 'woof');
INSERT INTO puppy VALUES (3, 'pup', 'yip');
INSERT INTO parent VALUES (1, 'p');
INSERT INTO achild VALUES (2, 'c', 7), (3, 'd', 8);
INSERT INTO m VALUES (1, 'a'), (2, 'a'), (1, 'b');
INSERT INTO pad VALUES (1, 'ab  ', 'ab', ARRAY['x '::bpchar]), (2, ' ', ' ', NULL), (3, '', '', NULL), (4, NULL, NULL, NULL);
`;

/** Each table's own rows (ONLY), as text, so a copy can be compared table by table. */
const OWN = `SELECT string_agg(t || ':' || r, ' | ' ORDER BY t, r) FROM (
  SELECT 'animal' t, id || name r FROM ONLY animal UNION ALL SELECT 'dog', id || name || bark FROM ONLY dog
  UNION ALL SELECT 'puppy', id || name || bark FROM ONLY puppy UNION ALL SELECT 'parent', id || v FROM ONLY parent
  UNION ALL SELECT 'achild', id || v || extra FROM ONLY achild UNION ALL SELECT 'm', id || r FROM m
  UNION ALL SELECT 'pad', id || ':' || coalesce(octet_length(b)::text, 'null') || ':' || coalesce(bs::text, 'null') FROM pad) x`;

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);

describe.runIf(have('postgres'))('PostgreSQL inheritance, partitions and bpchar, same backend', () => {
  for (const format of ['portable', 'native'] as const) {
    describe(format, () => {
      let rt: RoundTrip;
      beforeAll(async () => {
        rt = await pair(PG, PG, `pr${format[0]}`);
        psql(rt.src.url, SCHEMA);
        rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', format });
        if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup });
      }, 60_000);
      afterAll(async () => { await rt?.close(); });

      it('the backup counts each table\'s own rows', () => {
        expect(outcome(rt.backup)).toBe('ok');
        if (format !== 'portable') return;
        const rows = Object.fromEntries((rt.backup as Json).data.tables.map((t: Json) => [t.name, t.rows]));
        expect(rows).toMatchObject({ animal: 1, dog: 1, puppy: 1, parent: 1, achild: 2, m: 3, pad: 4 });
      });
      it('restores each table with its own rows, spaces kept, nothing lost', async () => {
        expect(outcome(rt.restore)).toBe('ok');
        expect((rt.restore as Json).data.lossy ?? []).toEqual([]);
        expect(psql(rt.dst.url, OWN)).toBe(psql(rt.src.url, OWN));
        expect(psql(rt.dst.url, OWN)).toContain('pad:1:4:{"x "}');
      });
    });
  }
});

describe.each([['mysql', MY], ['sqlite', LITE]] as const)('PostgreSQL inheritance into %s', (name, backend) => {
  let rt: RoundTrip;
  beforeAll(async () => {
    if (!have('postgres') || !have(name)) return;
    rt = await pair(PG, backend, `pr${name[0]}`);
    psql(rt.src.url, SCHEMA);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['animal', 'dog', 'puppy', 'parent', 'achild', 'pad', 'q', 'q2'] });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, allow_lossy: true });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it.runIf(have('postgres') && have(name))('each table gets its own rows, and the inheritance is listed as lost', async () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    const count = async (t: string): Promise<number> => Number(((await callTool(rt.h.client, 'execute_query', { connection: 'dst', query: `SELECT count(*) AS n FROM ${t}` })) as Json).data.rows[0][0]);
    expect(await Promise.all(['animal', 'dog', 'puppy', 'parent', 'achild'].map(count))).toEqual([1, 1, 1, 1, 2]);
    const lossy = (rt.restore as Json).data.lossy as Array<{ table: string; what: string }>;
    for (const t of ['animal', 'dog', 'puppy', 'parent', 'achild']) expect(lossy.some((l) => l.table.endsWith(t) && /inherit/.test(l.what)), `${t}: ${JSON.stringify(lossy)}`).toBe(true);
    expect(lossy.some((l) => l.table.endsWith('q') && /NULLS NOT DISTINCT/.test(l.what)), JSON.stringify(lossy)).toBe(true);
    expect(lossy.some((l) => l.table.endsWith('q2') && /primary key named pk_q2/.test(l.what)), JSON.stringify(lossy)).toBe(true);
    // bpchar's spaces arrive as text: 'ab  ' keeps its 4 bytes.
    const pad = (await callTool(rt.h.client, 'execute_query', { connection: 'dst', query: 'SELECT b FROM pad ORDER BY id' })) as Json;
    expect(pad.data.rows.map((r: unknown[]) => r[0])).toEqual(['ab  ', ' ', '', null]);
  });

});

describe.runIf(have('postgres'))('PostgreSQL inheritance, backups of named tables', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'prn');
    psql(rt.src.url, SCHEMA);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('a parent\'s backup carries the parent only: no empty child appears on the target', async () => {
    const b = await callTool(rt.h.client, 'create_backup', { connection: 'src', tables: ['animal'] });
    expect(outcome(b)).toBe('ok');
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: (b as Json).data.backup });
    expect(outcome(r)).toBe('ok');
    expect(psql(rt.dst.url, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace").trim()).toBe('animal');
    expect(psql(rt.dst.url, 'SELECT string_agg(id || name, \',\') FROM animal').trim()).toBe('1cat');
  });
});
