/**
 * Result column names made unique: `x`, `x_2`, `x_3` …, never colliding with a name the
 * result already has, and linear in the number of columns (MariaDB puts no cap on a
 * SELECT list: 16,000 columns named `1` once held the event loop for 29 s).
 */
import { describe, expect, it } from 'vitest';
import { uniqueColumnNames } from '../../src/core/limits.js';

describe('uniqueColumnNames', () => {
  it('numbers repeats and steps over names the result already has', () => {
    expect(uniqueColumnNames(['a', 'a', 'a_2', 'a', 'b', 'a_3'])).toEqual(['a', 'a_2', 'a_2_2', 'a_3', 'b', 'a_3_2']);
  });

  it('names 200,000 columns called "1" uniquely (a quadratic search would not finish within the test timeout)', () => {
    const out = uniqueColumnNames(Array.from({ length: 200_000 }, () => '1'));
    expect(new Set(out).size).toBe(200_000);
    expect(out.slice(0, 3)).toEqual(['1', '1_2', '1_3']);
    expect(out.at(-1)).toBe('1_200000');
  });
});
