/**
 * SQLite latency spikes (issue 16): a call that found no host had to start one (a Node
 * process loading better-sqlite3: 100-250 ms idle, about a second on a loaded machine).
 * Reads of the migration history ended the host each time, so the next call paid that.
 * Watched here through the server's child processes: reads keep the host; a write session
 * ends it, and the next one is started at once (warm) rather than by the next call.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { mustCall, startStdio } from '../support/mcp.js';

type Stdio = Awaited<ReturnType<typeof startStdio>>;

/** The server's child processes (the SQLite hosts), from /proc. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function settle(pid: number, want: (kids: number[]) => boolean): Promise<number[]> {
  const until = Date.now() + 20_000;
  for (;;) {
    const kids = children(pid);
    if (want(kids) || Date.now() > until) return kids;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the SQLite host across calls', () => {
  let s: Stdio;
  let pid: number;
  const dir = tempDir('cmx-hostreuse-');

  beforeAll(async () => {
    s = await startStdio(['-c', `db=sqlite://${join(dir, 'db.sqlite')}`]);
    pid = s.transport.pid!;
  });

  afterAll(async () => {
    await s?.close();
  });

  it('keeps the host after reads of the migration history', async () => {
    await mustCall(s.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS x' });
    const before = await settle(pid, (k) => k.length === 1);
    expect(before).toHaveLength(1);
    for (const tool of ['list_migrations', 'get_migration_status', 'get_schema', 'get_database_stats']) {
      await mustCall(s.client, tool, { connection: 'db' });
      await mustCall(s.client, 'execute_query', { connection: 'db', query: 'SELECT 1 AS x' });
      expect([tool, children(pid)]).toEqual([tool, before]);
    }
  });

  it('starts the next host as soon as a write session ends, before the next call', async () => {
    const [old] = await settle(pid, (k) => k.length === 1);
    await mustCall(s.client, 'create_table', { connection: 'db', schema: { table: 'warm', columns: [{ name: 'id', type: 'integer', primary_key: true }] } });
    // No call follows: a new host can only come from the warm start.
    const after = await settle(pid, (k) => k.length === 1 && k[0] !== old);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(old);
    await mustCall(s.client, 'execute_query', { connection: 'db', query: 'SELECT count(*) AS n FROM warm' });
    expect(children(pid)).toEqual(after);
  });
});
