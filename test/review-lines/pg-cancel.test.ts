/**
 * Review: frames.ts is shared with PostgreSQL, whose BackendKeyData (the pid and secret a
 * cancel names) is read from the reused header buffer. Two sessions sleep at once; the
 * client cancels one: that one ends promptly as CANCELLED, the other is left to finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');

describe.runIf(pg)('review: PostgreSQL cancels reach the right backend', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startInProcess({ db: { url: pg!.url(), pool_size: 4 } });
  });
  afterAll(() => h?.close());

  it('cancelling one of two sleeping calls ends that one only', async () => {
    for (let rep = 0; rep < 3; rep++) {
      const ac = new AbortController();
      const started = Date.now();
      const keep = callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(1.5) AS kept' });
      const gone = callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT pg_sleep(30) AS gone' }, { signal: ac.signal }).then(() => 'finished', () => 'aborted');
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      expect(await gone).toBe('aborted');
      const k = await keep;
      expect(k.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      // The cancelled statement is gone from the server, not left sleeping.
      let left = 1;
      for (let i = 0; i < 50 && left; i++) {
        const q = await callTool(h.client, 'execute_query', { connection: 'db', query: "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'" });
        left = q.ok ? Number((q.data.rows as unknown[][])[0]![0]) : 1;
        if (left) await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe(0);
    }
  }, 120_000);
});
