/**
 * pg_dump's script made to run inside the restore's one transaction: its session settings
 * become local to the transaction (nothing stays on the pooled connection), its own
 * timeouts and encoding are dropped, psql's markers go, and a line inside a function
 * body is never touched.
 */
import { describe, expect, it } from 'vitest';
import { transactionalScript } from '../../src/core/backends/postgres/native-ddl.js';

const DUMP = `--
-- PostgreSQL database dump
--

\\restrict abc123

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;

CREATE FUNCTION public.f() RETURNS void
    LANGUAGE plpgsql
    AS $_$
BEGIN
SET search_path = public;
END
$_$;

SET default_table_access_method = heap;

\\unrestrict abc123
`;

describe('transactionalScript', () => {
  const out = transactionalScript(DUMP);

  it('makes every session setting local to the transaction and drops the dump session\'s own', () => {
    expect(out).toContain('SET LOCAL standard_conforming_strings = on;');
    expect(out).toContain('SET LOCAL check_function_bodies = false;');
    expect(out).toContain('SET LOCAL default_table_access_method = heap;');
    expect(out).toContain("SELECT pg_catalog.set_config('search_path', '', true);");
    expect(out).not.toMatch(/statement_timeout|lock_timeout|client_encoding|set_config\('search_path', '', false\)/);
  });

  it('drops psql markers and leaves function bodies alone', () => {
    expect(out).not.toContain('restrict');
    expect(out).toContain('BEGIN\nSET search_path = public;\nEND');
  });
});

describe('objects of a native DDL that no table carries (listed by a restore that does not run it)', () => {
  const section = (name: string, type: string, schema: string, sql: string): string => `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: -\n--\n\n${sql}\n\n`;
  it('views, functions, types, extensions and free sequences; not what belongs to a table, nor owned or identity sequences', async () => {
    const { nativeDdlObjects } = await import('../../src/core/backends/postgres/native-ddl.js');
    const before = [
      section('btree_gist', 'EXTENSION', '-', 'CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;'),
      section('plan', 'TYPE', 'app', "CREATE TYPE app.plan AS ENUM ('free');"),
      section('touch()', 'FUNCTION', 'app', 'CREATE FUNCTION app.touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;'),
      section('t', 'TABLE', 'app', 'CREATE TABLE app.t (id bigint NOT NULL);'),
      section('t_id_seq', 'SEQUENCE', 'app', 'ALTER TABLE app.t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.t_id_seq);'),
      section('s_id_seq', 'SEQUENCE', 'app', 'CREATE SEQUENCE app.s_id_seq;'),
      section('s_id_seq', 'SEQUENCE OWNED BY', 'app', 'ALTER SEQUENCE app.s_id_seq OWNED BY app.s.id;'),
      section('shared', 'SEQUENCE', 'app', 'CREATE SEQUENCE app.shared;'),
      section('v', 'VIEW', 'app', 'CREATE VIEW app.v AS SELECT 1;'),
      section('mv', 'MATERIALIZED VIEW', 'app', 'CREATE MATERIALIZED VIEW app.mv AS SELECT 1 WITH NO DATA;'),
    ].join('');
    const after = [
      section('t t_pkey', 'CONSTRAINT', 'app', 'ALTER TABLE ONLY app.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);'),
      section('t trg', 'TRIGGER', 'app', 'CREATE TRIGGER trg BEFORE UPDATE ON app.t FOR EACH ROW EXECUTE FUNCTION app.touch();'),
      section('t pol', 'POLICY', 'app', 'CREATE POLICY pol ON app.t USING (true);'),
    ].join('');
    expect(nativeDdlObjects({ backend: 'postgres', producer: 'pg_dump 15', before_data: before, after_data: after })).toEqual([
      { kind: 'extension', name: 'btree_gist' }, { kind: 'type', name: 'app.plan' }, { kind: 'function', name: 'app.touch()' },
      { kind: 'sequence', name: 'app.shared' }, { kind: 'view', name: 'app.v' }, { kind: 'materialized view', name: 'app.mv' },
    ]);
  });

  it('given the backup\'s tables: the tables of the DDL that are not among them (partitions) and the indexes made on those, quoted names read', async () => {
    const { nativeDdlObjects } = await import('../../src/core/backends/postgres/native-ddl.js');
    const before = [
      section('pay', 'TABLE', 'app', 'CREATE TABLE app.pay (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);'),
      section('pay_2022', 'TABLE', 'app', 'CREATE TABLE app.pay_2022 (id bigint NOT NULL, at date NOT NULL);'),
      section('Odd Part', 'TABLE', 'app', 'CREATE TABLE app."Odd Part" (id bigint NOT NULL, at date NOT NULL);'),
    ].join('');
    const after = [
      section('pay_2022 pay_2022_pkey', 'CONSTRAINT', 'app', 'ALTER TABLE ONLY app.pay_2022 ADD CONSTRAINT pay_2022_pkey PRIMARY KEY (id);'),
      section('pay_at', 'INDEX', 'app', 'CREATE INDEX pay_at ON ONLY app.pay USING btree (at);'),
      section('pay_2022_id', 'INDEX', 'app', 'CREATE INDEX pay_2022_id ON app.pay_2022 USING btree (id);'),
      section('odd_id', 'INDEX', 'app', 'CREATE UNIQUE INDEX odd_id ON app."Odd Part" USING btree (id);'),
    ].join('');
    const ddl = { backend: 'postgres', producer: 'pg_dump 15', before_data: before, after_data: after };
    expect(nativeDdlObjects(ddl, new Set(['app.pay']))).toEqual([
      { kind: 'table', name: 'app.pay_2022' }, { kind: 'table', name: 'app.Odd Part' },
      { kind: 'index', name: 'app.pay_2022_id on app.pay_2022' }, { kind: 'index', name: 'app.odd_id on app.Odd Part' },
    ]);
    // Without the tables (as before): only what stands on its own.
    expect(nativeDdlObjects(ddl)).toEqual([]);
  });
});
