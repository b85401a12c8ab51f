/**
 * Review of issue 17 item 6 (README "Scaling out": "With a shared query_log.path,
 * analyze_slow_queries and get_database_stats count the statements of every instance"):
 * two server processes writing one query-log file AT THE SAME TIME (the balancer test writes
 * six calls one after another). Each instance should then count every call of both,
 * once: no entry lost to SQLITE_BUSY (busy_timeout is 1 s), none counted twice.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, startStdio } from '../support/mcp.js';

type Json = Record<string, any>;
const CALLS = 300;
const CONCURRENCY = 8;

describe('one query-log file, two server processes writing at once', () => {
  const dir = tempDir('cmx-r17-qlog-');
  const servers: Array<Awaited<ReturnType<typeof startStdio>>> = [];

  beforeAll(async () => {
    const config = join(dir, 'db.json');
    writeFileSync(config, JSON.stringify({
      connections: { lite: { url: `sqlite:${join(dir, 'app.db')}` } },
      query_log: { path: join(dir, 'query-log.db') },
    }));
    servers.push(await startStdio(['--config', config]), await startStdio(['--config', config]));
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${CALLS} calls on each at once: both count ${2 * CALLS}`, async () => {
    const hammer = async (client: (typeof servers)[number]['client']): Promise<number> => {
      let failed = 0;
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < CALLS) {
          next++;
          const r = await callTool(client, 'execute_query', { connection: 'lite', query: 'SELECT 1 AS r17mark' });
          if (!r.ok) failed++;
        }
      }));
      return failed;
    };
    const failed = await Promise.all(servers.map((s) => hammer(s.client)));
    expect(failed).toEqual([0, 0]);
    const counts: number[] = [];
    for (const s of servers) {
      // Entries are written right after answering: give the last ones a moment by asking twice.
      let calls = 0;
      for (let i = 0; i < 20 && calls < 2 * CALLS; i++) {
        const r = await callTool(s.client, 'analyze_slow_queries', { connection: 'lite', threshold: 0, limit: 100 });
        const q = r.ok ? ((r.data.queries as Json[]) ?? []).find((x) => String(x.fingerprint).includes('r17mark')) : undefined;
        calls = q?.calls ?? -1;
        if (calls < 2 * CALLS) await new Promise((res) => setTimeout(res, 100));
      }
      counts.push(calls);
    }
    expect(counts).toEqual([2 * CALLS, 2 * CALLS]);
  }, 120_000);
});
