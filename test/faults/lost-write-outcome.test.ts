/**
 * A write whose connection dies under it may or may not have been applied (SPEC §7): its
 * CONNECTION_LOST says so (`details.outcome: "unknown"`, "may or may not have been
 * applied"), and a read's does not. PostgreSQL and MariaDB are covered by db-restart (a
 * write in flight through a database restart); here the SQLite host is killed under a
 * long write and under a long read on a file database.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { childPids, query, sleep, startServer, waitFor, type ServerProcess } from './db-harness.js';

const ROWS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50000000) SELECT x FROM c';

describe('a write cut off by a lost connection says its outcome is unknown', () => {
  let server: ServerProcess | undefined;
  afterAll(async () => { await server?.close(); });

  it('sqlite: the host killed under a write and under a read', async () => {
    server = await startServer({ db: { url: `sqlite://${join(tempDir('cmx-lostw-'), 'w.db')}` } });
    const s = server;
    expect((await query(s, 'db', 'CREATE TABLE t (x integer)')).ok).toBe(true);
    const killedUnder = async (sql: string) => {
      const call = query(s, 'db', sql, { timeout_ms: 30_000 });
      expect(await waitFor(async () => childPids(s.pid, 'sqlite-host').length > 0, 5000, 20)).toBe(true);
      await sleep(300);
      for (const pid of childPids(s.pid, 'sqlite-host')) process.kill(pid, 'SIGKILL');
      return call;
    };
    const write = await killedUnder(`INSERT INTO t ${ROWS}`);
    expect(write.ok ? 'ok' : write.error.code).toBe('CONNECTION_LOST');
    if (!write.ok) {
      expect(write.error.details.outcome).toBe('unknown');
      expect(write.error.message).toMatch(/may or may not have been applied/);
    }
    const read = await killedUnder(`SELECT count(*) FROM (${ROWS})`);
    expect(read.ok ? 'ok' : read.error.code).toBe('CONNECTION_LOST');
    if (!read.ok) expect(read.error.details.outcome).toBeUndefined();
    expect((await query(s, 'db', 'SELECT count(*) AS n FROM t')).ok).toBe(true);
  }, 60_000);
});
