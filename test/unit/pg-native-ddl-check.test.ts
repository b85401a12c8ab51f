/**
 * A portable PostgreSQL backup's native_ddl runs as written: checked first, statement by
 * statement, against what pg_dump writes for the schema the backup carries.
 */
import { describe, expect, it } from 'vitest';
import { checkNativeDdl } from '../../src/core/backends/postgres/native-ddl-check.js';

const BEFORE = `SET LOCAL check_function_bodies = false;
SELECT pg_catalog.set_config('search_path', '', true);
CREATE TYPE public.mood AS ENUM ('a', 'b');
CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE public.t (id integer NOT NULL, m public.mood);
ALTER TABLE public.t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.t_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1);
CREATE SEQUENCE public.s START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE VIEW public.v AS SELECT id FROM public.t;
COMMENT ON TABLE public.t IS 'x';`;
const AFTER = `ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);
CREATE INDEX t_m ON public.t USING btree (m);
CREATE TRIGGER tr AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f();
SELECT pg_catalog.setval('public.t_id_seq', 5, true);
SELECT pg_catalog.setval('public.s', 1, false);`;

const code = async (before: string, after = AFTER): Promise<string> => {
  try { await checkNativeDdl({ backend: 'postgres', producer: 'pg_dump 15', before_data: before, after_data: after }); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? 'thrown'; }
};

describe('checkNativeDdl', () => {
  it("takes pg_dump's schema", async () => {
    expect(await code(BEFORE)).toBe('ok');
  });
  it.each([
    ['a DROP', 'DROP TABLE public.victim;'],
    ['DML', 'DELETE FROM public.victim;'],
    ['a DO block', "DO $$ BEGIN EXECUTE 'DROP TABLE public.victim'; END $$;"],
    ['an ALTER of a table it did not create', 'ALTER TABLE public.victim ADD COLUMN x int;'],
    ['a trigger on a table it did not create', 'CREATE TRIGGER x AFTER INSERT ON public.victim FOR EACH ROW EXECUTE FUNCTION public.f();'],
    ['CREATE OR REPLACE of a function it did not create', 'CREATE OR REPLACE FUNCTION public.other() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;'],
    ['a SELECT of anything else', 'SELECT pg_catalog.pg_terminate_backend(1);'],
    ['setval of a sequence it did not create', "SELECT pg_catalog.setval('public.victim_seq', 1, true);"],
    ['SET ROLE', 'SET ROLE postgres;'],
    ['a column dropped from its own table', 'ALTER TABLE public.t DROP COLUMN m;'],
    ['a DO block of the named-table form around something else', `DO $cmx$ BEGIN EXECUTE 'DROP TABLE public.victim'; EXCEPTION WHEN duplicate_function THEN NULL; END $cmx$;`],
    ['a DO block of the named-table form around CREATE OR REPLACE', `DO $cmx$ BEGIN EXECUTE 'CREATE OR REPLACE FUNCTION public.victim() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$'; EXCEPTION WHEN duplicate_function THEN NULL; END $cmx$;`],
    ['a DO block of the named-table form with a second statement', `DO $cmx$ BEGIN EXECUTE 'CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$; DROP TABLE public.victim'; EXCEPTION WHEN duplicate_function THEN NULL; END $cmx$;`],
    ['a DO block in another language', `DO LANGUAGE plperl $cmx$ BEGIN EXECUTE 'CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$'; EXCEPTION WHEN duplicate_function THEN NULL; END $cmx$;`],
  ])('refuses %s (BACKUP_CORRUPT)', async (_what, extra) => {
    expect(await code(`${BEFORE}\n${extra}`)).toBe('BACKUP_CORRUPT');
  });
  it('takes the DO block a named-table backup writes for a function its tables use (CREATE, a duplicate ignored)', async () => {
    const created = `DO $cmx$ BEGIN EXECUTE 'CREATE FUNCTION public.g(x integer) RETURNS text LANGUAGE sql AS $f$ SELECT ''a'' || x $f$'; EXCEPTION WHEN duplicate_function THEN NULL; END $cmx$;`;
    expect(await code(`SET LOCAL check_function_bodies = false;\n${created}\n${BEFORE}`)).toBe('ok');
    expect(await code(`${BEFORE}\nDO LANGUAGE plpgsql ${created.slice(3)}`)).toBe('ok');
  });
  it('takes quoted mixed-case names, as pg_dump writes them for partitioned indexes and keys', async () => {
    const before = `CREATE TABLE public."Events" (id integer NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public."Events_2024" (id integer NOT NULL, at date NOT NULL);
ALTER TABLE ONLY public."Events" ATTACH PARTITION public."Events_2024" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`;
    const after = `ALTER TABLE ONLY public."Events" ADD CONSTRAINT "Events_pkey" PRIMARY KEY (id, at);
ALTER TABLE ONLY public."Events_2024" ADD CONSTRAINT "Events_2024_pkey" PRIMARY KEY (id, at);
CREATE INDEX "Events_At" ON ONLY public."Events" USING btree (at);
CREATE INDEX "Events_2024_At" ON public."Events_2024" USING btree (at);
ALTER INDEX public."Events_At" ATTACH PARTITION public."Events_2024_At";
ALTER INDEX public."Events_pkey" ATTACH PARTITION public."Events_2024_pkey";`;
    expect(await code(before, after)).toBe('ok');
  });
});
