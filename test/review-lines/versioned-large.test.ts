/**
 * Review: system-versioned tables whose period columns are spelt (TIMESTAMP(6), so the
 * table takes the process-made lines with FOR SYSTEM_TIME ALL), and rows around the
 * 16 MiB packet boundary (a row of exactly 0xffffff bytes is followed by an empty packet).
 */
import { describe, expect, it } from 'vitest';
import { compare, my } from './harness.js';

describe.runIf(my)('review: system-versioned table with explicit period columns', () => {
  it('history rows take the process path and restore exactly', async () => {
    const r = await compare(
      'id INT PRIMARY KEY, x VARCHAR(10) NULL, rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE, re TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME(rs, re)',
      ["(1, 'a')", "(2, 'b')"],
      { options: ' WITH SYSTEM VERSIONING', after: ["UPDATE {t} SET x = 'c' WHERE id = 1", 'DELETE FROM {t} WHERE id = 2'] },
    );
    expect.soft(r.processMade).toBe(true);
    expect.soft(r.l).toHaveLength(3);
    expect.soft(r.l.map((line) => line.replace(/,"[^"]*Z","[^"]*Z"\]$/, ']'))).toEqual(r.v.map((line) => line.replace(/,"[^"]*Z","[^"]*Z"\]$/, ']')));
    // (r.server is not compared: the header's definition lacks the in-memory versioning mark, so it reads current rows only.)
    expect.soft(r.restoreError).toBeUndefined();
    expect.soft(r.restored).toEqual(r.source);
    expect.soft(r.shaAgain).toBe(r.sha);
  }, 120_000);
});

// (id INT, t LONGTEXT): a row packet is 2 + 4 + N bytes.
const SIZES = [16777215 - 6, 16777215 - 6 + 1, 16777215 - 6 - 1];

describe.runIf(my).each(SIZES)('review: a row of %i text bytes around the 16 MiB packet boundary', (n) => {
  it('backs up as one line equal to the other paths ', async () => {
    const r = await compare('id INT PRIMARY KEY, t LONGTEXT NULL', [`(1, REPEAT('x', ${n}))`, "(2, 'after')"]);
    expect.soft(r.processMade).toBe(true);
    expect.soft(r.l).toHaveLength(2);
    expect.soft(r.l[0]?.length).toBe(n + 6);
    expect.soft(r.l[1]).toBe('[2,"after"]');
    expect.soft(r.l.join('\n') === r.v.join('\n')).toBe(true);
    expect.soft(r.l.join('\n') === r.server.join('\n')).toBe(true);
    // A restore of such a row needs max_allowed_packet above 16 MiB (DATA_ERROR says so): not this path's concern.
  }, 180_000);
});
