import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MAX_FINGERPRINTS, QueryLog, SAMPLE_SIZE } from '../../src/core/query-log/index.js';
import { parseSince } from '../../src/core/performance/slow.js';
import { tempDir } from '../support/backends.js';
import { flavorOf } from '../support/sql.js';

const silent = pino({ level: 'silent' });
const memoryLog = (memory_entries = 1000): QueryLog => new QueryLog({ path: null, memory_entries, max_entries: 100_000 }, silent);

describe('query log', () => {
  it('groups statements by fingerprint with calls, totals, max, rows and errors', async () => {
    const log = memoryLog();
    log.record('db', 'execute_query', flavorOf('postgres'), 'SELECT * FROM t WHERE id = 1', 10, 1, null);
    log.record('db', 'execute_query', flavorOf('postgres'), 'select * from t where id = 2', 30, 0, null);
    log.record('db', 'execute_transaction', flavorOf('postgres'), 'SELECT * FROM t WHERE id = 3', 20, 1, 'TIMEOUT');
    log.record('other', 'execute_query', flavorOf('postgres'), 'SELECT * FROM t WHERE id = 4', 99, 1, null);
    const { rows, complete } = await log.summarise('db');
    expect(complete).toBe(true);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ fingerprint: 'select * from t where id = ?', calls: 3, errors: 1, total_ms: 60, mean_ms: 20, max_ms: 30, rows: 2, p95_ms: 30 });
    expect(await log.totals('db')).toMatchObject({ statements: 3, errors: 1, fingerprints: 1 });
    expect(await log.totals('nobody')).toEqual({ statements: 0, errors: 0, fingerprints: 0, since: null });
  });

  it('keeps p95 exact up to the sample size and close beyond it', async () => {
    const log = memoryLog();
    for (let i = 1; i <= SAMPLE_SIZE; i++) log.record('db', 't', flavorOf('sqlite'), 'SELECT 1', i, 0, null);
    expect((await log.summarise('db')).rows[0].p95_ms).toBe(95);
    // 10,000 more calls, uniform 0..100: the sampled p95 stays near 95 and memory does not grow.
    for (let i = 0; i < 10_000; i++) log.record('db', 't', flavorOf('sqlite'), 'SELECT 2 FROM t', (i % 101), 0, null);
    const second = (await log.summarise('db')).rows.find((r) => r.calls === 10_000)!;
    expect(second.max_ms).toBe(100);
    expect(second.p95_ms).toBeGreaterThan(80);
    expect(second.p95_ms).toBeLessThanOrEqual(100);
  });

  it('forgets the least recently seen fingerprint once full', async () => {
    const log = memoryLog();
    for (let i = 0; i <= MAX_FINGERPRINTS; i++) log.record('db', 't', flavorOf('sqlite'), `SELECT c${i} FROM t`, 1, 0, null);
    const { rows } = await log.summarise('db');
    expect(rows).toHaveLength(MAX_FINGERPRINTS);
    expect(rows.some((r) => r.fingerprint === 'select c0 from t')).toBe(false);
    expect(rows.some((r) => r.fingerprint === `select c${MAX_FINGERPRINTS} from t`)).toBe(true);
  });

  it('answers `since` windows from the ring, saying when the ring no longer reaches back', async () => {
    const log = memoryLog(100);
    const before = Date.now();
    for (let i = 0; i < 50; i++) log.record('db', 't', flavorOf('mysql'), `SELECT ${i}`, 5, 1, null);
    const window = await log.summarise('db', before);
    expect(window).toMatchObject({ complete: true, rows: [{ fingerprint: 'select ?', calls: 50, p95_ms: 5 }] });
    for (let i = 0; i < 100; i++) log.record('db', 't', flavorOf('mysql'), 'SELECT x FROM y', 1, 0, null);
    const later = await log.summarise('db', before);
    expect(later.complete).toBe(false);
    expect(later.rows.map((r) => [r.fingerprint, r.calls])).toEqual([['select x from y', 100]]);
    // The aggregates still count everything since the start.
    expect((await log.summarise('db')).rows.map((r) => r.calls).sort()).toEqual([100, 50]);
  });

  it('persists to a SQLite file that the next server reads back, without literals', async () => {
    const path = join(tempDir('cmx-qlog-'), 'sub', 'log.db');
    const first = new QueryLog({ path, memory_entries: 100, max_entries: 100_000 }, silent);
    first.record('db', 'execute_query', flavorOf('postgres'), "SELECT * FROM users WHERE email = 'alice@example.com'", 12, 1, null);
    first.record('db', 'execute_query', flavorOf('postgres'), "SELECT * FROM users WHERE email = 'bob@example.com'", 8, 1, 'TIMEOUT');
    await first.close();

    const raw = new Database(path, { readonly: true });
    const stored = JSON.stringify(raw.prepare('SELECT * FROM codomyrmex_query_log').all());
    raw.close();
    expect(stored).toContain('select * from users where email = ?');
    expect(stored).not.toContain('example.com');

    const second = new QueryLog({ path, memory_entries: 100, max_entries: 100_000 }, silent);
    second.record('db', 'execute_query', flavorOf('postgres'), "SELECT * FROM users WHERE email = 'carol@example.com'", 4, 1, null);
    const { rows } = await second.summarise('db');
    expect(rows).toEqual([expect.objectContaining({ fingerprint: 'select * from users where email = ?', calls: 3, errors: 1, total_ms: 24, max_ms: 12 })]);
    expect(second.persistedTo).toBe(path);
    expect((await second.summarise('db', 0)).rows[0].calls).toBe(3);
    await second.close();
  });

  it('follows what another server appends to a shared file, from where it left off, counting its own once', async () => {
    const path = join(tempDir('cmx-qlog-'), 'shared.db');
    const a = new QueryLog({ path, memory_entries: 100, max_entries: 100_000 }, silent, { flushMs: 0 });
    const b = new QueryLog({ path, memory_entries: 100, max_entries: 100_000 }, silent, { flushMs: 0 });
    const calls = async (log: QueryLog): Promise<Record<string, number>> => Object.fromEntries((await log.summarise('db')).rows.map((r) => [r.fingerprint, r.calls]));
    a.record('db', 'execute_query', flavorOf('sqlite'), 'SELECT 1 FROM a_table', 1, 0, null);
    expect(await calls(a)).toEqual({ 'select ? from a_table': 1 });
    expect(await calls(b)).toEqual({ 'select ? from a_table': 1 });
    b.record('db', 'execute_query', flavorOf('sqlite'), 'SELECT 2 FROM b_table', 1, 0, null);
    a.record('db', 'execute_query', flavorOf('sqlite'), 'SELECT 3 FROM a_table', 1, 0, null);
    await new Promise((r) => setImmediate(r)); // both batches written (flushMs 0), before either reads
    // Each sees the other's new entry once and its own once, whatever the order of reads and writes.
    expect(await calls(a)).toEqual({ 'select ? from a_table': 2, 'select ? from b_table': 1 });
    expect(await calls(b)).toEqual({ 'select ? from a_table': 2, 'select ? from b_table': 1 });
    expect(await calls(b)).toEqual({ 'select ? from a_table': 2, 'select ? from b_table': 1 });

    // Emptied by an operator: ids start again from 1, and what is written next is still followed.
    const raw = new Database(path);
    raw.exec('DELETE FROM codomyrmex_query_log');
    raw.close();
    a.record('db', 'execute_query', flavorOf('sqlite'), 'SELECT 4 FROM c_table', 1, 0, null);
    await new Promise((r) => setImmediate(r));
    expect((await calls(b))['select ? from c_table']).toBe(1);
    expect((await calls(a))['select ? from c_table']).toBe(1);

    // Deleted with its WAL files: the next write or read opens a new file at the path.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    a.record('db', 'execute_query', flavorOf('sqlite'), 'SELECT 5 FROM d_table', 1, 0, null);
    await new Promise((r) => setImmediate(r));
    expect((await calls(b))['select ? from d_table']).toBe(1);
    expect((await calls(a))['select ? from d_table']).toBe(1);
    expect(existsSync(path)).toBe(true);
    await a.close();
    await b.close();
  });

  it('keeps only the newest max_entries rows in the file', async () => {
    const path = join(tempDir('cmx-qlog-'), 'log.db');
    const log = new QueryLog({ path, memory_entries: 100, max_entries: 1000 }, silent);
    for (let i = 0; i < 3000; i++) log.record('db', 't', flavorOf('sqlite'), 'SELECT 1', 1, 0, null);
    await log.close();
    const raw = new Database(path, { readonly: true });
    const { n } = raw.prepare('SELECT count(*) AS n FROM codomyrmex_query_log').get() as { n: number };
    raw.close();
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(n).toBeLessThanOrEqual(1100);
  });

  it('stays in memory when the file cannot be opened', async () => {
    const dir = tempDir('cmx-qlog-');
    const log = new QueryLog({ path: dir, memory_entries: 100, max_entries: 1000 }, silent); // a directory, not a file
    log.record('db', 't', flavorOf('sqlite'), 'SELECT 1', 1, 0, null);
    expect((await log.summarise('db')).rows[0].calls).toBe(1);
    expect(log.persistedTo).toBeNull();
    await log.close();
  });
});

describe('since', () => {
  it('takes an ISO time or a duration back from now', () => {
    const now = Date.parse('2025-03-01T12:00:00Z');
    expect(parseSince('2025-03-01T11:00:00Z', now)).toBe(now - 3_600_000);
    expect(parseSince('30m', now)).toBe(now - 1_800_000);
    expect(parseSince('2h', now)).toBe(now - 7_200_000);
    expect(parseSince('1.5d', now)).toBe(now - 129_600_000);
    expect(parseSince(undefined, now)).toBeUndefined();
    expect(() => parseSince('yesterday-ish', now)).toThrow(/ISO 8601/);
  });
});
