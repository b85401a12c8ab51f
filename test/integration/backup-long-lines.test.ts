/**
 * A portable backup's lines are read in gzip chunks of 64 KiB: a row whose line spans many
 * chunks (a value of megabytes), lines ending exactly at a chunk's end, and multi-byte
 * characters cut by a chunk boundary come back whole. (Joining and searching the pending
 * line at every chunk made a 40 MB value's restore take 9 s; it is read once now.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { PG, callTool, pair, psql, type RoundTrip } from '../review15/harness.js';

const SIZES = [0, 1, 65_535, 65_536, 65_537, 131_071, 3_000_000, 200_001, 7];

describe.skipIf(!BACKENDS.some((b) => b.name === 'postgres'))('portable backups with lines across many chunks', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(PG, PG, 'llc');
    // Odd lengths of two-byte characters after an ASCII prefix: chunk boundaries fall inside characters.
    psql(rt.src.url, `CREATE TABLE t (id int PRIMARY KEY, v text);
      INSERT INTO t SELECT i, CASE WHEN i % 2 = 0 THEN repeat('x', n) ELSE 'a' || repeat('é', n / 2) END FROM unnest(ARRAY[${SIZES.join(',')}]) WITH ORDINALITY AS s(n, i);`);
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores every value exactly', async () => {
    const made = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (!made.ok) throw new Error(made.error.message);
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: made.data.backup });
    expect(r.ok ? 'ok' : r.error.message).toBe('ok');
    const sums = (url: string): string => psql(url, 'SELECT id, length(v), md5(v) FROM t ORDER BY id');
    expect(sums(rt.dst.url)).toBe(sums(rt.src.url));
    expect(sums(rt.dst.url).split('\n').filter(Boolean)).toHaveLength(SIZES.length);
  });
});
