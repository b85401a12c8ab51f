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
