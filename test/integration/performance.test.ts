/**
 * The PerformanceMonitor tools on every backend, through a real MCP client:
 * statement timing and plans with their findings (a 200,000-row table without and
 * with its index), writes measured and rolled back, read-only refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

type Finding = { kind: string; table: string | null; table_rows: number | null; columns: string[]; message: string; suggestion: string | null };
type Monitor = {
  statement: string; rolled_back: boolean; runs: number; rows: number;
  timing_ms: { min: number; median: number; p95: number; max: number };
  plan: { analyzed: boolean; source: string; indexes_used: string[]; full_scans: Array<{ table: string; table_rows: number | null }>; nodes: unknown[] } | null;
  plan_error: unknown;
  findings: Finding[];
};

/** 200,000 rows in one statement: generate_series, MariaDB's sequence engine, a recursive CTE. */
const FILL: Record<TestBackend['name'], (t: string) => string> = {
  postgres: (t) => `INSERT INTO ${t} SELECT g, g % 5000, g % 997 FROM generate_series(1, 200000) g`,
  mysql: (t) => `INSERT INTO ${t} SELECT seq, seq % 5000, seq % 997 FROM seq_1_to_200000`,
  sqlite: (t) => `INSERT INTO ${t} WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x, x % 5000, x % 997 FROM c`,
};

describe.each(BACKENDS)('performance monitor on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const big = 'orders';

  const monitor = async (args: Record<string, unknown>): Promise<Monitor> => (await mustCall(h.client, 'monitor_query_performance', { connection: 'db', ...args })) as unknown as Monitor;
  const scalar = async (query: string): Promise<number> => Number(Object.values(((await mustCall(h.client, 'execute_query', { connection: 'db', query })).rows as Array<Record<string, unknown>>)[0])[0]);

  beforeAll(async () => {
    db = await freshDatabase(backend, 'perf');
    h = await startInProcess({ db: { url: db.url }, ro: { url: db.url, read_only: true } });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `CREATE TABLE ${big} (id integer PRIMARY KEY, customer_id integer NOT NULL, total integer NOT NULL)` });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: FILL[backend.name](big) });
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it('finds the missing index on a 200,000-row table, and not once the index exists', async () => {
    const before = await monitor({ query: `SELECT id, total FROM ${big} WHERE customer_id = ?`, params: [42], runs: 2 });
    expect(before).toMatchObject({ statement: 'read', rolled_back: false, runs: 2, rows: 40, plan_error: null });
    expect(before.timing_ms.min).toBeLessThanOrEqual(before.timing_ms.median);
    expect(before.timing_ms.median).toBeLessThanOrEqual(before.timing_ms.max);
    const missing = before.findings.find((f) => f.kind === 'missing_index');
    expect(missing, JSON.stringify(before.findings)).toMatchObject({ table: big, columns: ['customer_id'] });
    expect(missing!.table_rows).toBeGreaterThanOrEqual(10_000);
    expect(missing!.message).toMatch(new RegExp(`on ${big} \\([\\d,]+ rows\\) filtered by customer_id: an index on ${big}\\(customer_id\\) is likely to help`));
    expect(missing!.suggestion).toMatch(new RegExp(`^CREATE INDEX \\w+ ON ${big} \\(customer_id\\)$`));
    expect(before.plan!.full_scans.map((s) => s.table)).toEqual([big]);
    expect(before.plan!.analyzed).toBe(backend.name !== 'sqlite');

    await mustCall(h.client, 'execute_query', { connection: 'db', query: missing!.suggestion! });
    const after = await monitor({ query: `SELECT id, total FROM ${big} WHERE customer_id = ?`, params: [7], runs: 2 });
    expect(after.rows).toBe(40);
    expect(after.findings.filter((f) => f.kind === 'missing_index')).toEqual([]);
    expect(after.plan!.full_scans).toEqual([]);
    expect(after.plan!.indexes_used).toContain(`${big}_customer_id_idx`);
  });

  it('measures a write inside transactions that are rolled back', async () => {
    const sum = await scalar(`SELECT sum(total) AS s FROM ${big}`);
    const r = await monitor({ query: `UPDATE ${big} SET total = total + 1 WHERE id <= 100`, runs: 2 });
    expect(r).toMatchObject({ statement: 'write', rolled_back: true, rows: 100, plan_error: null });
    expect(r.plan!.analyzed).toBe(backend.name !== 'sqlite');
    expect(await scalar(`SELECT sum(total) AS s FROM ${big}`)).toBe(sum);
  });

  it('obeys read-only connections: reads are measured, writes refused', async () => {
    const write = await callTool(h.client, 'monitor_query_performance', { connection: 'ro', query: `DELETE FROM ${big}` });
    expect(write.ok ? 'ok' : write.error.code).toBe('READ_ONLY_VIOLATION');
    const read = (await mustCall(h.client, 'monitor_query_performance', { connection: 'ro', query: `SELECT count(*) AS n FROM ${big} WHERE total = 5`, runs: 1 })) as unknown as Monitor;
    expect(read).toMatchObject({ statement: 'read', rolled_back: false, rows: 1 });
    expect(read.plan!.analyzed).toBe(backend.name !== 'sqlite');
    expect(await scalar(`SELECT count(*) AS n FROM ${big}`)).toBe(200_000);
  });

  it('explains exactly one statement: a second one is refused before anything runs', async () => {
    const r = await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: `SELECT 1; DROP TABLE ${big}` });
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
    const tx = await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: 'COMMIT' });
    expect(tx.ok ? 'ok' : tx.error.code).toBe('INVALID_INPUT');
    expect(await scalar(`SELECT count(*) AS n FROM ${big}`)).toBe(200_000);
  });
});
