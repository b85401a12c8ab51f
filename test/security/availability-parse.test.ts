/**
 * Issue 14, class 7: PostgreSQL statements longer than INLINE_PARSE_MAX_CHARS are
 * classified in a worker thread with a deadline (core/offload). libpg-query is quadratic
 * on adjacent comments: 1 MB of them must end in TOO_COMPLEX without stalling other
 * calls, and long statements must be judged exactly as short ones are (the same
 * refusals, the same syntax errors). Needs dist/sql-worker.js (npm run build).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendModule } from '../../src/core/backends/lookup.js';
import { boundedClassifier, INLINE_MAX_CHARS as INLINE_PARSE_MAX_CHARS } from '../../src/core/offload/index.js';
import { classifyPostgres, loadPostgresParser } from '../../src/core/backends/postgres/classify.js';
import { BACKENDS } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
/** Just under the 1,000,000 characters a query may have. */
const NESTED = `SELECT 1 ${'/*'.repeat(249_990)}${'*/'.repeat(249_990)}`;
const ADJACENT = `SELECT 1 ${'/**/'.repeat(249_990)}`;
/** Long, but cheap to parse: padded past the inline limit with spaces and one short comment. */
const pad = (sql: string): string => `${sql}${' '.repeat(INLINE_PARSE_MAX_CHARS)} /* long */`;

describe('PostgreSQL parse off the main thread', () => {
  it('a worker that runs past its deadline gives TOO_COMPLEX with the deadline in details', async () => {
    const classify = boundedClassifier('postgres', backendModule('postgres').sql, { inlineMaxChars: 100, deadlineMs: 300 });
    const err = await classify(ADJACENT).then(() => null, (e: unknown) => e as { code: string; details: Record<string, unknown> });
    expect(err?.code).toBe('TOO_COMPLEX');
    expect(err?.details).toMatchObject({ deadline_ms: 300, length: ADJACENT.length });
  });

  it('long texts are classified in the worker exactly as inline', async () => {
    await loadPostgresParser();
    const classify = boundedClassifier('postgres', backendModule('postgres').sql, { inlineMaxChars: 100 });
    const texts = [
      'SELECT 1',
      "SELECT ('/etc/hostname'::text).pg_read_file",
      'DELETE FROM t',
      'COPY t TO PROGRAM $$id$$',
      'SELECT 1; SELECT 2',
      'BEGIN',
    ].map(pad);
    for (const text of texts) expect(await classify(text), text.slice(0, 40)).toMatchObject(classifyPostgres(text));
    const bad = pad('SELEC 1');
    const inline = (() => { try { classifyPostgres(bad); return null; } catch (e) { return e as { code: string; details: unknown }; } })();
    const off = await classify(bad).then(() => null, (e: { code: string; details: unknown }) => e);
    expect(off?.code).toBe('SYNTAX_ERROR');
    expect(off?.details).toEqual(inline?.details);
  });
});

describe.runIf(pg)('PostgreSQL: 1 MB of comments through execute_query', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ db: { url: pg!.url() }, ro: { url: pg!.url(), read_only: true } });
    await callTool(h.client, 'get_connection', { connection: 'db' });
  });
  afterAll(() => h?.close());

  for (const [name, text] of [['nested', NESTED], ['adjacent', ADJACENT]] as const) {
    it(`${name} comments: TOO_COMPLEX, and calls sent after it are answered before it`, async () => {
      const order: string[] = [];
      const big = callTool(h.client, 'execute_query', { connection: 'db', query: text }).then((r) => { order.push('big'); return r; });
      for (let i = 0; i < 3; i++) {
        const r = await callTool(h.client, 'execute_query', { connection: 'db', query: `SELECT ${i} AS n` });
        expect(r.ok).toBe(true);
        order.push(`small${i}`);
      }
      const r = await big;
      expect(r.ok ? 'ok' : r.error.code).toBe('TOO_COMPLEX');
      expect(order).toEqual(['small0', 'small1', 'small2', 'big']);
    }, 60_000);
  }

  it('a long legitimate statement runs, and a long escape is refused as a short one is', async () => {
    const inList = `SELECT count(*) AS n FROM generate_series(1, 10) g WHERE g IN (${Array.from({ length: 20_000 }, (_, i) => i).join(',')})`;
    const ok = await callTool(h.client, 'execute_query', { connection: 'db', query: inList });
    expect(ok.ok).toBe(true);
    const refused = "SELECT pg_read_file('/etc/hostname')";
    const escape = pad(refused);
    const short = await callTool(h.client, 'execute_query', { connection: 'ro', query: refused });
    const long = await callTool(h.client, 'execute_query', { connection: 'ro', query: escape });
    expect(short.ok).toBe(false);
    expect(long.ok ? 'ok' : long.error.code).toBe(short.ok ? 'ok' : short.error.code);
  }, 60_000);
});

describe('fingerprints of long statements are bounded', () => {
  it('only the first MAX_FINGERPRINT_INPUT_CHARS count, and a literal cut in two stays hidden', async () => {
    const { MAX_FINGERPRINT_INPUT_CHARS } = await import('../../src/core/performance/fingerprint.js');
    const { fingerprint } = await import('../support/sql.js');
    const head = `SELECT * FROM t WHERE a IN (${'1,'.repeat(MAX_FINGERPRINT_INPUT_CHARS / 2)}1)`;
    for (const flavor of ['postgres', 'mysql', 'sqlite'] as const) {
      expect(fingerprint(`${head} AND b = 1`, flavor)).toBe(fingerprint(`${head} AND c = 2`, flavor));
      const secret = `SELECT '${'s3cr3t'.repeat(MAX_FINGERPRINT_INPUT_CHARS)}'`;
      expect(fingerprint(secret, flavor)).not.toContain('s3cr3t');
    }
  });
});
