/**
 * Review: frames.ts now fills one header buffer for the socket's life. Fed a stream of
 * PostgreSQL-shaped messages cut at every kind of boundary (1-byte chunks, headers split
 * over chunks, a header and its body in different chunks, several messages per chunk),
 * it must report every header as sent and hand over exactly the bodies it was asked for.
 * And the MySQL guard must still refuse an oversized row on the process-made lines path.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2';
import { watchFrames } from '../../src/core/backends/frames.js';
import { startPrivateMariadb, type PrivateDb } from '../faults/private-db.js';
import { tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { my } from './harness.js';

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy(): void { this.destroyed = true; }
}

function message(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

function rng(seed: number): () => number {
  let s = seed;
  return () => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s / 0x7fffffff; };
}

describe('review: watchFrames with one header buffer', () => {
  it.each([1, 2, 3, 7, 42, 4096])('reports every header and wanted body under random cuts (seed %i)', (seed) => {
    const rand = rng(seed);
    const msgs: Array<{ type: string; body: Buffer }> = [];
    for (let i = 0; i < 300; i++) {
      const type = 'KDCZTE'[Math.floor(rand() * 6)]!;
      const len = type === 'K' ? 8 : Math.floor(rand() * 40);
      msgs.push({ type, body: Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256))) });
    }
    const stream = Buffer.concat(msgs.map((m) => message(m.type, m.body)));
    const socket = new FakeSocket();
    const headers: string[] = [];
    const kept: string[] = [];
    watchFrames(socket as never, 5, (h) => { headers.push(h.toString('hex')); return h.readUInt32BE(1) - 4; }, {
      wanted: (h) => h[0] === 0x4b,
      read: (h, b) => kept.push(`${h.toString('hex')}:${b.toString('hex')}`),
    });
    for (let at = 0; at < stream.length;) {
      const n = Math.max(1, Math.floor(rand() * (rand() < 0.3 ? 3 : 64)));
      socket.emit('data', stream.subarray(at, at + n));
      at += n;
    }
    expect(headers).toEqual(msgs.map((m) => message(m.type, Buffer.alloc(0)).subarray(0, 5).toString('hex').replace(/.{8}$/, (m.body.length + 4).toString(16).padStart(8, '0'))));
    expect(kept).toEqual(msgs.filter((m) => m.type === 'K').map((m) => `${message('K', m.body).subarray(0, 5).toString('hex')}:${m.body.toString('hex')}`));
  });
});

describe.runIf(my)('review: RESULT_TOO_LARGE on the process-made lines path', () => {
  // A row over MAX_MESSAGE_BYTES (64 MiB) needs max_allowed_packet above it: a private server.
  let db: PrivateDb;
  let h: Harness;
  beforeAll(async () => {
    db = await startPrivateMariadb();
    const c = await mysql.createConnection(db.url).promise();
    await c.query('SET GLOBAL max_allowed_packet = 256 * 1024 * 1024');
    await c.end();
    const c2 = await mysql.createConnection(db.url).promise();
    await c2.query('CREATE TABLE l (id INT PRIMARY KEY, v LONGTEXT)');
    await c2.query('CREATE TABLE v (id INT PRIMARY KEY, v LONGTEXT, g INET6 NULL)');
    await c2.query("INSERT INTO l VALUES (1, 'small'), (2, REPEAT('x', 65 * 1024 * 1024)), (3, 'after')");
    await c2.query('INSERT INTO v SELECT id, v, NULL FROM l');
    await c2.end();
    h = await startInProcess({ db: { url: db.url } }, { backup_dir: tempDir('cmx-rvbig-') });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await db?.destroy();
  });

  it('execute_query of the row gets RESULT_TOO_LARGE (the guard and its code, outside backups)', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT v FROM l WHERE id = 2' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('RESULT_TOO_LARGE');
  }, 120_000);

  it.each(['l', 'v'])('a backup of table %s with a 65 MiB row fails with RESULT_TOO_LARGE, and the next call works', async (table) => {
    const started = Date.now();
    const r = await callTool(h.client, 'create_backup', { database: 'db', tables: [table], output_path: `${table}.cmx.gz` });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('RESULT_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(30_000);
    const q = await callTool(h.client, 'execute_query', { connection: 'db', query: 'SELECT count(*) AS n FROM l' });
    expect(q.ok).toBe(true);
  }, 120_000);
});
