/**
 * Review: the process-made lines interrupted mid-stream: KILL QUERY from another session
 * (an ERR packet arrives among the row packets), and a client cancel. Promised: the call
 * fails promptly with a code, leaves no backup file, and the next backup on the same
 * server gives the full table.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { my } from './harness.js';

type Json = Record<string, any>;
const ROWS = 400_000;

describe.runIf(my)('review: process-made lines interrupted', () => {
  let db: { url: string; drop(): Promise<void> };
  let h: Harness;
  let dir: string;
  const name = () => db.url.replace(/^.*\//, '');

  beforeAll(async () => {
    db = await freshDatabase(my!, 'rvint');
    dir = tempDir('cmx-rvint-');
    h = await startInProcess({ db: { url: db.url } }, { backup_dir: dir });
    const c = await mysql.createConnection(db.url);
    await c.query('CREATE TABLE big (id INT PRIMARY KEY, t VARCHAR(64), d DECIMAL(10,2), ts DATETIME(3), e ENUM(\'a\',\'b\'))');
    await c.query(`INSERT INTO big SELECT seq, concat(md5(seq), 'é'), seq / 7, '2024-01-01 00:00:00' + INTERVAL seq SECOND, IF(seq % 2, 'a', 'b') FROM seq_1_to_${ROWS}`);
    await c.end();
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  /** Waits for the backup's SELECT to run, then runs `act` with its connection id. */
  async function whenReading(act: (id: number, c: mysql.Connection) => Promise<void>): Promise<void> {
    const c = await mysql.createConnection(db.url);
    try {
      for (let i = 0; i < 2000; i++) {
        const [rows] = await c.query(`SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE 'SELECT %FROM \`big\`%' AND id <> CONNECTION_ID()`, [name()]) as any;
        if (rows.length) return await act(Number(rows[0].id), c);
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('the backup SELECT was never seen');
    } finally {
      await c.end();
    }
  }

  async function fullBackupWorks(): Promise<void> {
    const ok = await callTool(h.client, 'create_backup', { database: 'db', tables: ['big'], output_path: `ok-${Date.now()}.cmx.gz` });
    if (!ok.ok) throw new Error(`${ok.error.code} ${ok.error.message}`);
    expect((ok.data as Json).tables[0].rows).toBe(ROWS);
  }

  it('KILL QUERY mid-stream fails the backup with a code and leaves no file', async () => {
    const before = readdirSync(dir).length;
    const started = Date.now();
    const call = callTool(h.client, 'create_backup', { database: 'db', tables: ['big'], output_path: 'killed.cmx.gz' });
    await whenReading(async (id, c) => { await new Promise((r) => setTimeout(r, 100)); await c.query(`KILL QUERY ${id}`); });
    const r = await call;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toMatch(/CANCELLED|QUERY_|CONNECTION_LOST|TIMEOUT|DB_ERROR|INTERRUPTED/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(readdirSync(dir).filter((f) => f.startsWith('killed')).length).toBe(0);
    expect(readdirSync(dir).length).toBe(before);
    await fullBackupWorks();
  }, 120_000);

  it('a client cancel mid-stream stops the server query and the next backup works', async () => {
    const ac = new AbortController();
    const call = callTool(h.client, 'create_backup', { database: 'db', tables: ['big'], output_path: 'cancelled.cmx.gz' }, { signal: ac.signal }).catch((e: Error) => e);
    await whenReading(async () => { await new Promise((r) => setTimeout(r, 50)); ac.abort(); });
    await call;
    // The server-side statement ends (KILL QUERY from the control connection).
    const c = await mysql.createConnection(db.url);
    try {
      let still = 1;
      for (let i = 0; i < 200 && still; i++) {
        const [rows] = await c.query(`SELECT count(*) AS n FROM information_schema.processlist WHERE db = ? AND info LIKE 'SELECT %FROM \`big\`%' AND id <> CONNECTION_ID()`, [name()]) as any;
        still = Number(rows[0].n);
        if (still) await new Promise((r) => setTimeout(r, 50));
      }
      expect(still).toBe(0);
    } finally {
      await c.end();
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('cancelled')).length).toBe(0);
    await fullBackupWorks();
  }, 120_000);
});
