/**
 * The PerformanceMonitor tools on every backend, through a real MCP client:
 * statement timing and plans with their findings (a 200,000-row table without and
 * with its index), writes measured and rolled back, read-only refusals, slow
 * statements from the query log and the database's own statistics.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, uniqueName, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type ConnectionSpec, type Harness, rowsOf } from '../support/mcp.js';

type Finding = { kind: string; table: string | null; table_rows: number | null; columns: string[]; message: string; suggestion: string | null };
type Slow = {
  queries: Array<{ fingerprint: string; calls: number; mean_ms: number; max_ms: number; p95_ms: number | null; source: string; seen_in: string[]; tools: string[]; recent_ms: number[] }>;
  sources: Array<{ name: string; used: boolean; hint: string | null; note: string | null }>;
};
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

type Stats = {
  table_count: number | null; size_bytes: number | null; uptime_s: number | null; cache_hit_ratio: number | null;
  largest_tables: Array<{ table: string; rows_estimate: number | null; data_bytes: number | null; index_bytes: number | null; total_bytes: number | null }> | null;
  index_usage: { indexes: number | null; unused: unknown[] | null } | null;
  connections: { open: number | null; active: number | null; max: number | null } | null;
  transactions: { committed: number; rolled_back: number } | null;
  sqlite: { page_size: number; page_count: number; journal_mode: string; dbstat: boolean } | null;
  query_log: { statements: number };
  not_available: string[];
  hints: Array<{ field: string; hint: string }>;
};

/** The same facts read straight from each catalog, to check get_database_stats against. */
const CATALOG: Record<TestBackend['name'], (t: string) => { tables: string; indexes: string; rows: string; bytes: string; maxConnections: string }> = {
  postgres: (t) => ({
    tables: "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    indexes: 'SELECT count(*) FROM pg_indexes WHERE schemaname = \'public\'',
    rows: `SELECT reltuples::bigint FROM pg_class WHERE oid = '${t}'::regclass`,
    bytes: `SELECT pg_total_relation_size('${t}')`,
    maxConnections: 'SELECT current_setting(\'max_connections\')::int',
  }),
  mysql: (t) => ({
    tables: "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
    indexes: 'SELECT count(DISTINCT TABLE_NAME, INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()',
    rows: `SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${t}'`,
    bytes: `SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${t}'`,
    maxConnections: 'SELECT @@max_connections',
  }),
  sqlite: (t) => ({
    tables: "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    indexes: "SELECT count(*) FROM sqlite_schema WHERE type = 'index'",
    rows: `SELECT count(*) FROM ${t}`,
    bytes: '',
    maxConnections: '',
  }),
};

/**
 * A statement made slow on purpose (about 0.3 s): a sleep per row of a one-row table,
 * or on SQLite a 16-million-pair join without an index. The table's unique name makes
 * the statement this test's own (pg_stat_statements ignores column aliases).
 */
const SLOW: Record<TestBackend['name'], (table: string, n: number) => string> = {
  postgres: (table, n) => `SELECT pg_sleep(${0.3 + n / 100}) FROM ${table}`,
  mysql: (table, n) => `SELECT SLEEP(${0.3 + n / 100}) FROM ${table}`,
  sqlite: (table, n) => `SELECT count(*) FROM ${table} a, ${table} b WHERE a.v + b.v = ${7 + n}`,
};
const SLOW_FINGERPRINT: Record<TestBackend['name'], (table: string) => string> = {
  postgres: (table) => `select pg_sleep(?) from ${table}`,
  mysql: (table) => `select sleep(?) from ${table}`,
  sqlite: (table) => `select count(*) from ${table} a, ${table} b where a.v + b.v = ?`,
};

describe.each(BACKENDS)('performance monitor on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  const big = 'orders';

  const monitor = async (args: Record<string, unknown>): Promise<Monitor> => (await mustCall(h.client, 'monitor_query_performance', { connection: 'db', ...args })) as unknown as Monitor;
  const scalar = async (query: string): Promise<number> => Number(Object.values((rowsOf(await mustCall(h.client, 'execute_query', { connection: 'db', query })))[0])[0]);

  beforeAll(async () => {
    db = await freshDatabase(backend, 'perf');
    h = await startInProcess({ db: { url: db.url }, ro: { url: db.url, read_only: true } });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `CREATE TABLE ${big} (id integer PRIMARY KEY, customer_id integer NOT NULL, total integer NOT NULL)` });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: FILL[backend.name](big) });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `CREATE TABLE pairs AS SELECT id, total AS v FROM ${big} WHERE id <= 4000` });
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

  it('returns real statistics, the numbers the catalog has', async () => {
    // Fresh statistics first, so the estimates compared below stay put between reads.
    await mustCall(h.client, 'execute_query', { connection: 'db', query: backend.name === 'mysql' ? `ANALYZE TABLE ${big}` : `ANALYZE ${big}` });
    const r = await mustCall(h.client, 'get_database_stats', { connection: 'db' }) as Stats;
    expect(r).toMatchObject({ connection: 'db', backend: backend.name, table_count: 2 });
    expect(r.largest_tables![0]).toMatchObject({ table: big });
    expect(r.query_log.statements).toBeGreaterThan(0);
    const largest = r.largest_tables![0];
    expect(largest.total_bytes).toBe((largest.data_bytes ?? 0) + (largest.index_bytes ?? 0));
    const direct = CATALOG[backend.name](big);
    expect(await scalar(direct.tables)).toBe(r.table_count);
    expect(await scalar(direct.indexes)).toBe(r.index_usage!.indexes);
    expect(await scalar(direct.rows)).toBe(largest.rows_estimate);
    expect(largest.rows_estimate).toBeGreaterThan(100_000);
    if (backend.name === 'sqlite') {
      expect(r.size_bytes).toBe(r.sqlite!.page_size * r.sqlite!.page_count);
      expect(r.sqlite).toMatchObject({ journal_mode: 'wal', dbstat: true });
      expect(r.not_available).toEqual(['uptime_s', 'connections', 'cache_hit_ratio', 'transactions', 'deadlocks', 'locks_waiting', 'long_running_queries', 'index_usage.unused']);
    } else {
      expect(await scalar(direct.bytes)).toBe(largest.total_bytes);
      expect(await scalar(direct.maxConnections)).toBe(r.connections!.max);
      expect(r.connections!.open).toBeGreaterThanOrEqual(1);
      expect(r.uptime_s).toBeGreaterThan(0);
      expect(r.transactions!.committed).toBeGreaterThan(0);
      expect(r.cache_hit_ratio).toBeGreaterThan(0);
      expect(r.cache_hit_ratio).toBeLessThanOrEqual(1);
      expect(r.sqlite).toBeNull();
    }
    if (backend.name === 'postgres') expect(r.not_available).toEqual([]);
    if (backend.name === 'mysql' && r.index_usage!.unused === null) {
      expect(r.not_available).toEqual(['index_usage.unused']);
      expect(r.hints).toEqual([{ field: 'index_usage.unused', hint: expect.stringMatching(/performance_schema = ON/) }]);
    }
  });

  it('serves the same statistics as stats://{connection}, with a chart for people', async () => {
    const listed = await h.client.listResources();
    expect(listed.resources.map((x) => x.uri)).toEqual(expect.arrayContaining(['stats://db', 'stats://ro']));
    const read = await h.client.readResource({ uri: 'stats://db' });
    const body = JSON.parse(String((read.contents[0] as { text: string }).text)) as Stats;
    expect(body).toMatchObject({ connection: 'db', backend: backend.name, table_count: 2 });
    expect(body.largest_tables![0].table).toBe(big);
    const call = await callTool(h.client, 'get_database_stats', { connection: 'db' });
    const chart = (call.raw.content[1] as { text: string }).text;
    expect(chart).toMatch(new RegExp(`largest tables\n${big} +█+`));
    const missing = await h.client.readResource({ uri: 'stats://nope' }).catch((err: Error) => err);
    expect(String(missing)).toMatch(/CONNECTION_NOT_FOUND/);
    // A read-only connection reads the same catalog.
    expect(await mustCall(h.client, 'get_database_stats', { connection: 'ro' })).toMatchObject({ connection: 'ro', table_count: 2 });
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

  it('logs its runs under its own name, and stops a statement at its timeout', async () => {
    await monitor({ query: `SELECT count(*) AS n FROM ${big} WHERE total = ?`, params: [3], runs: 3 });
    const slow = (await mustCall(h.client, 'analyze_slow_queries', { connection: 'db', threshold: 0 })) as unknown as Slow;
    const runs = slow.queries.find((q) => q.fingerprint === `select count(*) as n from ${big} where total = ?`);
    // The warm-up run counts: it ran. The EXPLAIN is not the statement's own run.
    expect(runs).toMatchObject({ calls: 4, tools: ['monitor_query_performance'] });
    const r = await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: backend.sleep(5), timeout_ms: 300 });
    expect(r.ok ? 'ok' : r.error.code).toBe('TIMEOUT');
    expect(await scalar('SELECT 1 AS one')).toBe(1);
  });

  it('explains exactly one statement: a second one is refused before anything runs', async () => {
    const r = await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: `SELECT 1; DROP TABLE ${big}` });
    expect(r.ok ? 'ok' : r.error.code).toBe('INVALID_INPUT');
    const tx = await callTool(h.client, 'monitor_query_performance', { connection: 'db', query: 'COMMIT' });
    expect(tx.ok ? 'ok' : tx.error.code).toBe('INVALID_INPUT');
    expect(await scalar(`SELECT count(*) AS n FROM ${big}`)).toBe(200_000);
  });
});

describe.each(BACKENDS)('slow statements on $name', (backend: TestBackend) => {
  let h: Harness;
  let db: { url: string; drop(): Promise<void> };
  let pss: { url: string; drop(): Promise<void> } | undefined;
  const slowTable = uniqueName('slow');
  const fast = uniqueName('fast');
  const logFile = join(tempDir('cmx-qlog-'), 'query-log.db');
  let connections: Record<string, ConnectionSpec>;
  const slow = async (connection: string, args: Record<string, unknown> = {}): Promise<Slow> =>
    (await mustCall(h.client, 'analyze_slow_queries', { connection, threshold: 0.2, ...args })) as unknown as Slow;

  beforeAll(async () => {
    db = await freshDatabase(backend, 'slow');
    connections = { db: { url: db.url } };
    // PostgreSQL: `shared`, a database of its own with pg_stat_statements (its library loaded by .ci/run).
    // Not the shared test database: the server-wide view is read per database, and there
    // other files' DROP DATABASE statements (a second each under load) filled the top 20.
    if (backend.name === 'postgres') {
      pss = await freshDatabase(backend, 'slowpss');
      connections.shared = { url: pss.url };
    }
    h = await startInProcess(connections, { query_log: { path: logFile, memory_entries: 1000, max_entries: 10_000 } });
    if (backend.name === 'postgres') await mustCall(h.client, 'execute_query', { connection: 'shared', query: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `CREATE TABLE ${fast} (id integer PRIMARY KEY, v integer)` });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: `INSERT INTO ${fast} (id, v) VALUES (1, 1), (2, 2)` });
    for (const connection of Object.keys(connections)) {
      await mustCall(h.client, 'execute_query', { connection, query: `CREATE TABLE ${slowTable} (id integer PRIMARY KEY, v integer)` });
      const rows = backend.name === 'sqlite' ? 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000) SELECT x, x % 97 FROM c' : 'VALUES (1, 1)';
      await mustCall(h.client, 'execute_query', { connection, query: `INSERT INTO ${slowTable} ${rows}` });
    }
  });

  afterAll(async () => {
    await h.close();
    await db.drop();
    await pss?.drop();
  });

  it('reports a slow statement, grouped across literals, and not a fast one', async () => {
    for (const n of [0, 1]) {
      await mustCall(h.client, 'execute_query', { connection: 'db', query: SLOW[backend.name](slowTable, n) });
      await mustCall(h.client, 'execute_query', { connection: 'db', query: `SELECT v FROM ${fast} WHERE id = ${n + 1}` });
    }
    const r = await slow('db');
    const hit = r.queries.find((q) => q.fingerprint === SLOW_FINGERPRINT[backend.name](slowTable));
    expect(hit, JSON.stringify(r.queries)).toMatchObject({ calls: 2, source: 'query_log', seen_in: ['query_log'], tools: ['execute_query'] });
    expect(hit!.mean_ms).toBeGreaterThan(200);
    expect(hit!.recent_ms).toHaveLength(2);
    expect(r.queries.some((q) => q.fingerprint.includes(fast))).toBe(false);
    // With no threshold the fast statement is there, its two literals grouped too.
    const all = await slow('db', { threshold: 0 });
    expect(all.queries.find((q) => q.fingerprint === `select v from ${fast.toLowerCase()} where id = ?`)?.calls).toBe(2);
  });

  it('says which sources were used and how to enable a missing one', async () => {
    const r = await slow('db');
    expect(r.sources[0]).toMatchObject({ name: 'query_log', used: true, hint: null });
    const db = r.sources.slice(1);
    if (backend.name === 'sqlite') expect(db).toEqual([]);
    if (backend.name === 'postgres') {
      // A fresh database: the library is loaded (.ci/run) but the extension is not created there.
      expect(db).toEqual([expect.objectContaining({ name: 'pg_stat_statements', used: false, hint: expect.stringMatching(/CREATE EXTENSION pg_stat_statements/) })]);
    }
    if (backend.name === 'mysql') {
      expect(db).toEqual([expect.objectContaining({ name: 'performance_schema' })]);
      if (!db[0].used) expect(db[0].hint).toMatch(/performance_schema = ON/);
    }
    const bad = await callTool(h.client, 'analyze_slow_queries', { connection: 'db', since: 'last tuesday' });
    expect(bad.ok ? 'ok' : [bad.error.code, bad.error.details.field]).toEqual(['INVALID_INPUT', 'since']);
    const since = await slow('db', { since: '10m' });
    expect(since.queries.find((q) => q.fingerprint === SLOW_FINGERPRINT[backend.name](slowTable))?.calls).toBe(2);
    expect(since.sources.slice(1).every((s) => !s.used)).toBe(true);
  });

  it.runIf(backend.name === 'postgres')('reads pg_stat_statements where the extension exists, merged with the query log', async () => {
    for (const n of [0, 1]) await mustCall(h.client, 'execute_query', { connection: 'shared', query: SLOW.postgres(slowTable, n) });
    const r = await slow('shared');
    expect(r.sources[1], 'run .ci/enable-pg-stat-statements test').toMatchObject({ name: 'pg_stat_statements', used: true });
    const hit = r.queries.find((q) => q.fingerprint === SLOW_FINGERPRINT.postgres(slowTable));
    expect(hit, JSON.stringify(r.queries)).toMatchObject({ calls: 2, source: 'pg_stat_statements', seen_in: ['pg_stat_statements', 'query_log'] });
    expect(hit!.p95_ms).toBeGreaterThan(200);
  });

  it('draws the slow statements as bars for people, beside the numbers', async () => {
    const r = await callTool(h.client, 'analyze_slow_queries', { connection: 'db', threshold: 0.2 });
    const texts = r.raw.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text);
    expect(texts).toHaveLength(2);
    expect(JSON.parse(texts[0])).toEqual(r.ok ? r.data : null);
    expect(texts[1]).toContain(SLOW_FINGERPRINT[backend.name](slowTable).slice(0, 40));
    expect(texts[1]).toMatch(/█/);
  });

  it('keeps the query log across a restart when it has a file', async () => {
    await h.close();
    h = await startInProcess(connections, { query_log: { path: logFile, memory_entries: 1000, max_entries: 10_000 } });
    const r = await slow('db');
    expect(r.queries.find((q) => q.fingerprint === SLOW_FINGERPRINT[backend.name](slowTable))?.calls).toBe(2);
    expect(r.sources[0].note).toContain(logFile);
  });
});
