/**
 * Held in the review of 9f1567e + 942adb9, on the built server over raw stdio (set
 * CMX_REVIEW_SERVER_JS to point at another build): a plain request that now goes straight
 * to the SDK's _onrequest can still be cancelled with notifications/cancelled, and its
 * statement stops (an endless SQLite recursive CTE, which holds the connection until it is
 * interrupted); other requests are answered while it runs; progress tokens of every valid
 * kind (0 and "" included) get their notifications. PostgreSQL pg_sleep and HTTP are
 * covered by test/review-c077/held.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { tempDir } from '../support/backends.js';
import { Raw } from '../review-c077/harness.js';

const ENDLESS = 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r';

describe('held: cancellation, other requests and progress of direct requests over stdio', () => {
  let s: Raw;
  beforeAll(async () => {
    const file = join(tempDir('cmx-rdisp-'), 'c.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (a INTEGER); WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 2000) INSERT INTO t SELECT i FROM g;');
    db.close();
    s = new Raw(['-c', `lite=sqlite://${file}`]);
    await s.initialize();
  }, 30_000);
  afterAll(async () => { await s?.stop(); });

  it('a cancelled endless query stops; pings are answered meanwhile; the connection is free after', async () => {
    await s.line({ jsonrpc: '2.0', id: 'endless', method: 'tools/call', params: { name: 'execute_query', arguments: { connection: 'lite', query: ENDLESS }, _meta: { progressToken: 'endless' } } });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      expect(await s.request('ping', undefined, 2_000)).toMatchObject({ result: {} });
      expect(Date.now() - t0).toBeLessThan(1_000);
    }
    await s.line({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'endless', reason: 'review' } });
    // The SDK sends nothing for a cancelled request.
    expect(await s.answer('endless', 500)).toBeNull();
    const t0 = Date.now();
    const next = await s.request('tools/call', { name: 'execute_query', arguments: { connection: 'lite', query: 'SELECT 42 AS v' } }, 5_000);
    expect(next?.result?.structuredContent?.rows).toEqual([[42]]);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(s.alive()).toBe(true);
    expect(s.badLines).toEqual([]);
  }, 20_000);

  it('every valid progress token gets its progress notifications', async () => {
    const seen = new Map<unknown, number>();
    s.child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) {
        const m = /"method":"notifications\/progress","params":\{"progressToken":("[^"]*"|-?\d+)/.exec(line);
        if (m) { const t = JSON.parse(m[1]); seen.set(t, (seen.get(t) ?? 0) + 1); }
      }
    });
    const tokens: Array<string | number> = [0, '', -1, 'tok', Number.MAX_SAFE_INTEGER, '__proto__'];
    for (const [i, progressToken] of tokens.entries()) {
      const id = `backup${i}`;
      await s.line({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'create_backup', arguments: { connection: 'lite' }, _meta: { progressToken } } });
      const r = await s.answer(id, 10_000);
      expect(r?.result?.isError, JSON.stringify(r)).toBeFalsy();
    }
    for (const t of tokens) expect(seen.get(t), `token ${JSON.stringify(t)}`).toBeGreaterThan(0);
    expect(s.badLines).toEqual([]);
  }, 30_000);
});
