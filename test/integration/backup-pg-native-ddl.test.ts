/**
 * A portable backup of a whole PostgreSQL database carries its schema as native DDL
 * (pg_dump --schema-only in the backup's snapshot), so a restore into an empty
 * PostgreSQL database gives back what the portable schema cannot carry: enums and
 * domains, a sequence no column owns (and its position), GiST, GIN, expression and
 * partial indexes, a key in its own column order, a partitioned table, json,
 * GENERATED ALWAYS identity and stored generated columns, views, a refreshed
 * materialized view, functions, an aggregate, a trigger made after the rows, comments.
 * A backup of named tables carries no types: a target without them is refused at plan time.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { differences, postgresSnapshot } from '../fidelity/catalog.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const pg = BACKENDS.find((b) => b.name === 'postgres');

const SCHEMA = [
  "CREATE TYPE mood AS ENUM ('Sad', 'OK', 'Happy')",
  'CREATE DOMAIN "yéar" AS integer CHECK (VALUE BETWEEN 1900 AND 2200)',
  'CREATE SEQUENCE ticket_seq START 100',
  `CREATE TABLE ticket (id integer NOT NULL DEFAULT nextval('ticket_seq'), at timestamptz NOT NULL, tag mood, y "yéar", doc json,
     spot point, words tsvector, label text, PRIMARY KEY (at, id)) PARTITION BY RANGE (at)`,
  "CREATE TABLE ticket_2024 PARTITION OF ticket FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
  "CREATE TABLE ticket_2025 PARTITION OF ticket FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
  'CREATE INDEX ticket_spot ON ticket USING gist (spot)',
  'CREATE INDEX ticket_words ON ticket USING gin (words)',
  'CREATE INDEX ticket_lower ON ticket (lower(label) DESC) WHERE label IS NOT NULL',
  'CREATE TABLE person (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, name_len integer GENERATED ALWAYS AS (length(name)) STORED)',
  "CREATE VIEW happy AS SELECT id, at FROM ticket WHERE tag = 'Happy'",
  'CREATE MATERIALIZED VIEW per_mood AS SELECT tag, count(*) AS n FROM ticket GROUP BY tag',
  "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.label := 'touched'; RETURN NEW; END$$",
  'CREATE TRIGGER ticket_touch BEFORE INSERT ON ticket FOR EACH ROW EXECUTE FUNCTION touch()',
  "CREATE AGGREGATE concat_all(text) (SFUNC = textcat, STYPE = text, INITCOND = '')",
  "COMMENT ON FUNCTION touch() IS 'labels new tickets'",
  "COMMENT ON TYPE mood IS 'how it went'",
  "COMMENT ON INDEX ticket_lower IS 'by label'",
  "INSERT INTO ticket (at, tag, y, doc, spot, words) VALUES ('2024-05-01', 'Happy', 2024, '{\"a\": [2], \"b\": 1}', '(1,2)', 'a b'), ('2025-02-01', 'Sad', 1999, '[]', '(3,4)', 'c')",
  "UPDATE ticket SET label = 'kept' WHERE tag = 'Sad'",
  "INSERT INTO person (name) VALUES ('ada'), ('grace')",
  'CREATE SEQUENCE note_seq START 50',
  "CREATE TABLE note (id integer PRIMARY KEY DEFAULT nextval('note_seq'), body text)",
  "INSERT INTO note (body) VALUES ('a'), ('b')",
  'REFRESH MATERIALIZED VIEW per_mood',
];

/** A source loaded with `source`, a target with `target`, and an in-process server with both (src, dst). */
async function pairWith(tag: string, source: string[], target: string[], dir: string) {
  const src = await freshDatabase(pg!, `${tag}_src`);
  const dst = await freshDatabase(pg!, `${tag}_dst`);
  const { default: postgres } = await import('postgres');
  for (const [url, statements] of [[src.url, source], [dst.url, target]] as const) {
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      for (const st of statements) await sql.unsafe(st);
    } finally {
      await sql.end();
    }
  }
  const h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
  return { src, dst, h };
}

describe.runIf(pg)('portable PostgreSQL backups carry native DDL', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  const dir = tempDir('cmx-pgddl-');

  beforeAll(async () => {
    ({ src, dst, h } = await pairWith('pgddl', SCHEMA, [], dir));
  });

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('named tables carry no types (nor, without pg_dump, sequences): a target without them is refused before anything is touched', async () => {
    await mustCall(h.client, 'create_backup', { connection: 'src', tables: ['ticket'], output_path: 'ticket.cmx.gz' });
    // The table's own DDL rides along (pg_dump --table): its GiST, GIN, expression and descending partial
    // indexes come back as they are, so nothing is lossy; but its types are not in it.
    const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: 'ticket.cmx.gz' });
    if (r.ok) throw new Error('restored without its types');
    expect(r.error.code).toBe('UNDEFINED_OBJECT');
    expect(r.error.details.types).toEqual(['mood', '"yéar"']);
    expect(r.error.message).toContain('ticket.tag');
    // ticket.id takes from ticket_seq, which no column owns: the named table's DDL carries it.
    expect(r.error.details.sequences).toEqual([]);
    // Without pg_dump a backup of named tables has no DDL: the sequence must be on the target too.
    const path = process.env.PATH;
    process.env.PATH = tempDir('cmx-nopath-');
    try {
      await mustCall(h.client, 'create_backup', { connection: 'src', tables: ['ticket'], output_path: 'ticket-nodump.cmx.gz' });
    } finally {
      process.env.PATH = path;
    }
    // (It lists what the portable schema does not carry: allow_lossy reaches the check.)
    const n = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: 'ticket-nodump.cmx.gz', allow_lossy: true });
    if (n.ok) throw new Error('restored without its sequence');
    expect([n.error.code, n.error.details.types, n.error.details.sequences]).toEqual(['UNDEFINED_OBJECT', ['mood', '"yéar"'], ['ticket_seq']]);
    expect(n.error.message).toContain('"ticket_seq" (ticket.id)');
    const left = await mustCall(h.client, 'execute_query', { connection: 'dst', query: "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace" });
    expect(rowsOf(left)[0].n).toBe(0);
  });

  it('restores the same catalog and rows into an empty database; keys continue', async () => {
    const before = await postgresSnapshot(src.url);
    await mustCall(h.client, 'create_backup', { connection: 'src', output_path: 'whole.cmx.gz' });
    const r = await mustCall(h.client, 'restore_backup', { connection: 'dst', backup_path: 'whole.cmx.gz' });
    expect(r.lossy).toEqual([]);
    expect(differences(before, await postgresSnapshot(dst.url))).toEqual([]);
    const next = async (c: string, q: string) => rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query: q }));
    for (const q of ["INSERT INTO ticket (at) VALUES ('2024-06-01') RETURNING id, label", "INSERT INTO person (name) VALUES ('x') RETURNING id, name_len"]) {
      expect(await next('dst', q)).toEqual(await next('src', q));
    }
    // The restore's settings were its transaction's only.
    for (let i = 0; i < 3; i++) expect((await next('dst', 'SHOW search_path'))[0].search_path).toBe('"$user", public');
  });

  it('named tables: a key taken from a sequence no column owns continues where it was', async () => {
    const other = await freshDatabase(pg!, 'pgddl_note');
    const h2 = await startInProcess({ src: { url: src.url }, other: { url: other.url } }, { backup_dir: dir });
    try {
      await mustCall(h2.client, 'create_backup', { connection: 'src', tables: ['note'], output_path: 'note.cmx.gz' });
      await mustCall(h2.client, 'restore_backup', { connection: 'other', backup_path: 'note.cmx.gz' });
      const r = await mustCall(h2.client, 'execute_query', { connection: 'other', query: "INSERT INTO note (body) VALUES ('c') RETURNING id" });
      expect(rowsOf(r)).toEqual([{ id: 52 }]);
    } finally {
      await h2.close();
      await other.drop();
    }
  });

  it('all or nothing: a target that already has one of the types keeps nothing of the restore', async () => {
    const other = await freshDatabase(pg!, 'pgddl_dup');
    const { default: postgres } = await import('postgres');
    const sql = postgres(other.url, { max: 1, onnotice: () => undefined });
    const h2 = await startInProcess({ other: { url: other.url } }, { backup_dir: dir });
    try {
      await sql.unsafe("CREATE TYPE mood AS ENUM ('x')");
      const r = await callTool(h2.client, 'restore_backup', { connection: 'other', backup_path: 'whole.cmx.gz' });
      if (r.ok) throw new Error('restored over an existing type');
      expect(r.error.code).toBe('DUPLICATE_OBJECT');
      const [left] = await sql.unsafe("SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace");
      expect(left.n).toBe(0);
      const [seq] = await sql.unsafe("SELECT to_regclass('public.ticket_seq') AS s");
      expect(seq.s).toBe(null);
    } finally {
      await h2.close();
      await sql.end();
      await other.drop();
    }
  });

  it('writes the DDL into the header: before_data and after_data, and what wrote them', () => {
    const header = JSON.parse(execFileSync('bash', ['-c', `gzip -dc '${dir}/whole.cmx.gz' | head -1`], { encoding: 'utf8' })) as Json;
    expect(header.native_ddl.backend).toBe('postgres');
    expect(header.native_ddl.producer).toMatch(/^pg_dump \d+/);
    expect(header.native_ddl.before_data).toContain('CREATE TYPE public.mood');
    expect(header.native_ddl.after_data).toContain("SELECT pg_catalog.setval('public.ticket_seq', 101, true);");
    expect(header.native_ddl.after_data).toContain('REFRESH MATERIALIZED VIEW public.per_mood;');
    expect(header.native_ddl.before_data).not.toMatch(/^SET (?!LOCAL)/m);
  });

  it('without pg_dump on PATH: a whole-database backup is refused, naming it; named tables need no pg_dump', async () => {
    const path = process.env.PATH;
    process.env.PATH = tempDir('cmx-nopath-');
    try {
      const r = await callTool(h.client, 'create_backup', { connection: 'src', output_path: 'nodump.cmx.gz' });
      if (r.ok) throw new Error('the backup was written without pg_dump');
      expect(r.error.code).toBe('UNSUPPORTED');
      expect(r.error.message).toMatch(/pg_dump is not on PATH/);
      const listed = await mustCall(h.client, 'list_backups', {});
      expect((listed.backups as Json[]).map((b) => b.file ?? b.name)).not.toContain('nodump.cmx.gz');
      await mustCall(h.client, 'create_backup', { connection: 'src', tables: ['person'], output_path: 'person.cmx.gz' });
    } finally {
      process.env.PATH = path;
    }
  });
});

/**
 * A backup of named tables carries their own DDL (pg_dump --table): restored into a database
 * that has none of their functions, a table keeps its partitions, key order, identity ALWAYS,
 * a default from a function and from a sequence it shares, DEFERRABLE and multi-column UNIQUE
 * constraints, its trigger, comment and policy; keys continue. Nothing is lossy.
 */
describe.runIf(pg)('portable PostgreSQL backups of named tables carry their DDL', () => {
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  let h: Harness;
  const dir = tempDir('cmx-pgnamed-');
  const NAMED = [
    'CREATE SCHEMA app',
    'CREATE SEQUENCE app.shared START 700',
    "CREATE FUNCTION app.code() RETURNS text LANGUAGE sql AS $$SELECT 'c-' || nextval('app.shared')$$",
    "CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := coalesce(NEW.note, 'stamped'); RETURN NEW; END$$",
    'CREATE TABLE app.team (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 40) PRIMARY KEY, name text COLLATE "C" NOT NULL)',
    `CREATE TABLE app.log (id bigint DEFAULT nextval('app.shared'), at date NOT NULL, team bigint REFERENCES app.team DEFERRABLE INITIALLY DEFERRED,
       code text DEFAULT app.code(), note text, PRIMARY KEY (at, id), UNIQUE (team, at, id)) PARTITION BY RANGE (at)`,
    "CREATE TABLE app.log_old PARTITION OF app.log FOR VALUES FROM ('2000-01-01') TO ('2024-01-01')",
    'CREATE TABLE app.log_new PARTITION OF app.log DEFAULT',
    'CREATE TRIGGER log_stamp BEFORE INSERT ON app.log FOR EACH ROW EXECUTE FUNCTION app.stamp()',
    "COMMENT ON TABLE app.log IS 'what happened'",
    'ALTER TABLE app.team ENABLE ROW LEVEL SECURITY',
    'CREATE POLICY everyone ON app.team USING (true)',
    "INSERT INTO app.team (name) VALUES ('a'), ('b')",
    "INSERT INTO app.log (at, team) VALUES ('2020-01-01', 40), ('2025-01-01', 41)",
  ];

  beforeAll(async () => {
    // The target has the schema, nothing else.
    ({ src, dst, h } = await pairWith('pgnamed', NAMED, ['CREATE SCHEMA app'], dir));
  });

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('restores the same catalog for those tables, nothing lossy; keys and the shared sequence continue', async () => {
    await mustCall(h.client, 'create_backup', { connection: 'src', tables: ['app.team', 'app.log'], output_path: 'named.cmx.gz' });
    const r = await mustCall(h.client, 'restore_backup', { connection: 'dst', backup_path: 'named.cmx.gz' });
    expect(r.lossy).toEqual([]);
    const mine = (l: string): boolean => !/^schemas: /.test(l);
    expect(differences(await postgresSnapshot(src.url), await postgresSnapshot(dst.url)).filter(mine)).toEqual([]);
    const next = async (c: string, q: string) => rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query: q }));
    for (const c of ['src', 'dst']) await next(c, "INSERT INTO app.team (name) VALUES ('c')");
    for (const q of ["INSERT INTO app.log (at, team) VALUES ('2026-01-01', 42) RETURNING id, code, note", "SELECT max(id) AS m FROM app.team"]) {
      expect(await next('dst', q)).toEqual(await next('src', q));
    }
  });
});
