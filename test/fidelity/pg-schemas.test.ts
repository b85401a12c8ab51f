/**
 * A PostgreSQL backup of tables in several schemas, restored with mode replace into a
 * database that lacks those schemas (its tables made from their portable definitions):
 * it failed with `schema "a" does not exist`, even with allow_lossy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from '../review15/harness.js';

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);
const ROWS = "SELECT string_agg(x, ' ' ORDER BY x) FROM (SELECT 'a' || id FROM a.t UNION ALL SELECT 'B' || id FROM \"B\".t UNION ALL SELECT 'p' || id FROM public.t) s(x)";

describe.runIf(have('postgres'))('PostgreSQL tables of several schemas, replace into a database without them', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'sch');
    psql(rt.src.url, `CREATE SCHEMA a; CREATE SCHEMA "B";
      CREATE TABLE a.t (id int PRIMARY KEY); CREATE TABLE "B".t (id int PRIMARY KEY); CREATE TABLE public.t (id int PRIMARY KEY);
      INSERT INTO a.t VALUES (1); INSERT INTO "B".t VALUES (2), (3); INSERT INTO public.t VALUES (4);`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('creates the schemas it needs and restores every table', async () => {
    expect(outcome(rt.backup)).toBe('ok');
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: (rt.backup as Json).data.backup, mode: 'replace', allow_lossy: true });
    expect(outcome(r)).toBe('ok');
    expect(psql(rt.dst.url, ROWS)).toBe(psql(rt.src.url, ROWS));
  });
});
