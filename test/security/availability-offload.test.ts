/**
 * Issue 14, class 7: a long agent text (over INLINE_MAX_CHARS) is lexed, translated and
 * classified in a worker thread (core/offload), on every backend. The worker must give
 * exactly the answer the inline path gives: the same classification (refusals, escapes,
 * statement counts), the same leading keyword and `/*!` verdict the dialects would lex
 * for themselves, the same placeholders, the same errors. Needs dist/sql-worker.js
 * (npm run build). Behaviour only: timings are the bench's (bench/availability.mjs).
 */
import { describe, expect, it } from 'vitest';
import type { ServerContext } from '../../src/context.js';
import { backendModule } from '../../src/core/backends/lookup.js';
import { boundedClassifier, createOffloader, INLINE_MAX_CHARS } from '../../src/core/offload/index.js';
import { classifyMysql } from '../../src/core/backends/mysql/classify.js';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';
import { classifySqlite } from '../../src/core/backends/sqlite/classify.js';
import type { Classification } from '../../src/core/readonly/types.js';
import { lexMysql, MYSQL_DEFAULT_QUOTING } from '../../src/core/backends/mysql/lexer.js';
import type { Params } from '../../src/core/queries.js';
import { bind, bindAgent, leadingKeywords, type SqlFlavor } from '../support/sql.js';
import { createRedactor, MAX_REDACTED_CHARS } from '../../src/log.js';

/** Past the inline limit two ways: a long trailing comment, and long leading comments (the keyword comes late). */
const padded = (sql: string): string[] => [`${sql} /* ${' '.repeat(INLINE_MAX_CHARS)} */`, `${'/* c */ '.repeat(INLINE_MAX_CHARS / 8 + 1)}${sql}`];

/** Statements per backend: reads, writes, escapes, several statements, transaction control, session changes, bad syntax. */
const TEXTS: Record<SqlFlavor, string[]> = {
  postgres: [
    'SELECT 1', "SELECT ('/etc/hostname'::text).pg_read_file", 'DELETE FROM t', 'SELECT 1; SELECT 2', 'BEGIN',
    'SET standard_conforming_strings = off', "COPY t TO PROGRAM 'id'", 'WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d',
    'SELEC 1', 'VALUES (1)', '(SELECT 1)',
  ],
  mysql: [
    'SELECT 1', "SELECT /*!50000 '*/', LOAD_FILE('/etc/hostname') */", 'DELETE FROM t', 'SELECT 1; SELECT 2', 'START TRANSACTION',
    'USE mysql', "SELECT 1 INTO OUTFILE '/tmp/x'", 'SET @a = 1', "GRANT ALL ON *.* TO x IDENTIFIED BY 'y'", 'INSERT INTO t VALUES (1)',
    "SELECT 'unterminated",
  ],
  sqlite: [
    'SELECT 1', "\uFEFFATTACH DATABASE '/tmp/x' AS x", "VACUUM INTO '/tmp/y'", "PRAGMA temp_store_directory='/tmp'", 'DELETE FROM t',
    'SELECT 1; SELECT 2', 'BEGIN', "SELECT load_extension('x')", 'CREATE TEMP TABLE x(a)', 'SELECT "unterminated',
  ],
};

const INLINE: Record<SqlFlavor, (sql: string) => Classification> = { postgres: classifyPostgres, mysql: classifyMysql, sqlite: classifySqlite };

type Outcome = { value: unknown } | { error: { code: unknown; message: unknown; details: unknown } };

async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { value: await fn() };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown; details?: unknown };
    return { error: { code: err.code, message: err.message, details: err.details } };
  }
}

/** What a dialect learns of a text inline: its classification, then its leading keyword and `/*!` comments lexed. */
function inlineAnalysis(flavor: SqlFlavor, sql: string): unknown {
  return {
    ...INLINE[flavor](sql),
    leadingKeyword: leadingKeywords(sql, flavor, 1)[0] ?? null,
    conditionalComment: flavor === 'mysql' && lexMysql(sql, MYSQL_DEFAULT_QUOTING).tokens.some((t) => t.kind === 'conditional_comment'),
  };
}

describe('long texts are classified in the worker exactly as inline', () => {
  for (const flavor of ['postgres', 'mysql', 'sqlite'] as const) {
    it(`${flavor}: same classification, leading keyword, /*! verdict and errors`, async () => {
      if (flavor === 'postgres') await loadPostgresParser();
      const classify = boundedClassifier(flavor, backendModule(flavor).sql);
      let refused = 0;
      for (const text of TEXTS[flavor].flatMap(padded)) {
        expect(text.length).toBeGreaterThan(INLINE_MAX_CHARS);
        const off = await outcome(() => classify(text));
        expect(off, text.slice(-60)).toEqual(await outcome(() => inlineAnalysis(flavor, text)));
        if ('value' in off && (off.value as Classification).readOnlyViolation) refused++;
      }
      // The list holds writes: a worker that answered "read-only" for everything would fail here.
      expect(refused).toBeGreaterThanOrEqual(4);
    }, 60_000);
  }

  it('short texts stay on the inline path (same object the inline classifier returns)', async () => {
    const answers = new Map<string, Classification>();
    const inline = (sql: string): Classification => { const c = classifySqlite(sql); answers.set(sql, c); return c; };
    const classify = boundedClassifier('sqlite', { ...backendModule('sqlite').sql, classify: inline });
    const c = await classify('DELETE FROM t');
    expect(c).toBe(answers.get('DELETE FROM t'));
    expect(c).not.toHaveProperty('leadingKeyword');
  });
});

describe('long texts get the same placeholders in the worker', () => {
  const ctx = { offload: createOffloader() } as unknown as ServerContext;
  const pad = `/* ${' '.repeat(INLINE_MAX_CHARS)} */`;
  const cases: Array<[string, Params]> = [
    [`SELECT ? AS a, ? AS b ${pad} WHERE x = ?`, [1, 'two', { three: 3 }]],
    [`SELECT :a AS a, :b AS b ${pad} WHERE x = :a`, { a: 1, b: [2, 3] }],
    [`SELECT '?' AS q, ? AS a ${pad}`, ['x']],
    [`SELECT $1 AS a ${pad}`, [5]],
    [`SELECT ? AS a, :b AS b ${pad}`, [1]],
    [`SELECT ? AS a ${pad}`, [1, 2]],
    [`SELECT :missing ${pad}`, { other: 1 }],
    [`SELECT @v ${pad}`, []],
    [`SELECT data ? 'k' ${pad}`, undefined],
  ];
  for (const flavor of ['postgres', 'mysql', 'sqlite'] as const) {
    it(`${flavor}: bindAgent on a long text equals bind`, async () => {
      let errors = 0;
      for (const [sql, params] of cases) {
        const off = await outcome(() => bindAgent(ctx, sql, params, flavor));
        expect(off, sql.slice(0, 30)).toEqual(await outcome(() => bind(sql, params, flavor)));
        if ('error' in off) errors++;
      }
      expect(errors).toBeGreaterThanOrEqual(3);
    }, 60_000);
  }
});

describe('a worker past its deadline', () => {
  it('gives TOO_COMPLEX on every backend, for placeholders too', async () => {
    const costly = `SELECT 1${',1'.repeat(400_000)}`;
    for (const flavor of ['mysql', 'sqlite'] as const) {
      const classify = boundedClassifier(flavor, backendModule(flavor).sql, { deadlineMs: 50 });
      const r = await outcome(() => classify(costly));
      expect(r).toMatchObject({ error: { code: 'TOO_COMPLEX', details: { deadline_ms: 50, length: costly.length } } });
    }
    const ctx = { offload: createOffloader({ deadlineMs: 50 }) } as unknown as ServerContext;
    expect(await outcome(() => bindAgent(ctx, costly, undefined, 'mysql'))).toMatchObject({ error: { code: 'TOO_COMPLEX' } });
  }, 30_000);
});

describe('redaction of a long text is bounded and still hides secrets', () => {
  const secret = 's3ntinelPlain42';
  const redact = createRedactor(() => [secret]);
  it('keeps the start, redacted; a secret crossing the cut is not shown in part', () => {
    for (let shift = -40; shift <= 40; shift += 1) {
      const head = `${secret} at the start `;
      const filler = 'x'.repeat(MAX_REDACTED_CHARS + shift - head.length);
      const text = `${head}${filler}${secret.toUpperCase()}${'%41'.repeat(300_000)}`;
      const out = redact(text);
      expect(out.startsWith('*** at the start ')).toBe(true);
      expect(out.length).toBeLessThan(MAX_REDACTED_CHARS + 100);
      expect(out).toContain(`(cut: ${text.length} characters)`);
      // Any 5-character piece of the secret, in any case, would be a leak.
      for (let i = 0; i + 5 <= secret.length; i++) expect(out.toLowerCase()).not.toContain(secret.toLowerCase().slice(i, i + 5));
    }
  });
  it('a URL password crossing the cut is not shown', () => {
    for (let at = MAX_REDACTED_CHARS - 30; at <= MAX_REDACTED_CHARS + 10; at++) {
      const out = redact(`${'y'.repeat(at)} postgres://u:hunter2hunter2@host/db ${'z'.repeat(200_000)}`);
      expect(out).not.toContain('hunt');
    }
  });
});

describe('fingerprints of nested /*! comments', () => {
  it('are bounded in depth: 20,000 nested openers give a fingerprint, not a stack overflow', async () => {
    const { fingerprint } = await import('../support/sql.js');
    const fp = fingerprint(`SELECT 1 ${'/*!1 '.repeat(20_000)}`, 'mysql');
    expect(fp).toMatch(/^select \? \/\*! .*\/\*! … \*\//);
    expect(fingerprint('SELECT /*!50000 a, 1 */ FROM t', 'mysql')).toBe(fingerprint('SELECT /*!40000 a, 2 */ FROM t', 'mysql'));
  });
});
