/**
 * Issue 15 item 10, other spellings: filters whose plan carries casts and operators other
 * than `timestamp with time zone` (character varying, double precision, arrays, ANY, a
 * quoted mixed-case column, a column named like a type word). Every suggested index must
 * name only real columns of the table, and must run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG, callTool, outcome, pair, psql, type Json, type RoundTrip } from './harness.js';

const QUERIES = [
  "SELECT id FROM ev WHERE kind = 'k7'::character varying AND at >= '2024-01-01'::timestamp without time zone",
  "SELECT id FROM ev WHERE score > 0.5::double precision AND \"Zone\" = 'z3'",
  "SELECT id FROM ev WHERE kind = ANY ('{k1,k2}'::text[]) AND \"time\" < '12:00'::time without time zone",
  "SELECT id FROM ev WHERE tags && ARRAY['t1']::varchar[] AND \"with\" = 3",
  "SELECT id FROM ev WHERE (payload ->> 'a')::integer = 5 AND kind IS NOT DISTINCT FROM 'k1'",
];

describe('monitor_query_performance: suggested indexes name real columns (casts in the plan)', () => {
  let rt: RoundTrip;
  const columns = ['id', 'kind', 'at', 'score', 'Zone', 'time', 'tags', 'with', 'payload'];
  beforeAll(async () => {
    rt = await pair(PG, PG, 'mon');
    psql(rt.src.url, `CREATE TABLE ev (id int PRIMARY KEY, kind varchar(10), at timestamp, score double precision, "Zone" text, "time" time, tags varchar[], "with" int, payload jsonb);
      INSERT INTO ev SELECT g, 'k' || (g % 50), '2024-01-01'::timestamp + g * interval '1 minute', (g % 100) / 100.0, 'z' || (g % 40), '00:00'::time + (g % 1440) * interval '1 minute',
        ARRAY['t' || (g % 30)], g % 60, jsonb_build_object('a', g % 70) FROM generate_series(1, 60000) g; ANALYZE ev;`);
  }, 120_000);
  afterAll(async () => { await rt?.close(); });

  it.each(QUERIES)('%s', async (query) => {
    const r = await callTool(rt.h.client, 'monitor_query_performance', { connection: 'src', query, runs: 1 });
    expect(outcome(r)).toBe('ok');
    const findings = ((r as Json).data.findings ?? []) as Array<{ kind: string; columns: string[]; suggestion: string | null }>;
    for (const f of findings.filter((x) => x.suggestion && /CREATE INDEX/i.test(x.suggestion))) {
      expect(f.columns.filter((c) => !columns.includes(c)), f.suggestion!).toEqual([]);
      const made = await callTool(rt.h.client, 'execute_query', { connection: 'src', query: f.suggestion! });
      expect(outcome(made), f.suggestion!).toBe('ok');
    }
  });
});
