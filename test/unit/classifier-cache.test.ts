import { describe, expect, it } from 'vitest';
import { cachedClassifier } from '../../src/core/readonly/cache.js';
import type { Classification } from '../../src/core/readonly/types.js';

const answer = (sql: string): Classification => ({ count: sql.length, readOnlyViolation: null, transactionControl: false, altersSession: false });

describe('the classifier cache', () => {
  it('answers repeated texts from the cache and evicts the least recent', () => {
    const seen: string[] = [];
    const classify = cachedClassifier((sql) => { seen.push(sql); return answer(sql); }, 2);
    expect(classify('a').count).toBe(1);
    classify('bb');
    classify('a'); // cached, now most recent
    classify('ccc'); // evicts 'bb'
    classify('a');
    classify('bb');
    expect(seen).toEqual(['a', 'bb', 'ccc', 'bb']);
  });

  it('rethrows errors every time instead of caching them', () => {
    let calls = 0;
    const classify = cachedClassifier(() => { calls++; throw new Error('syntax'); });
    expect(() => classify('x')).toThrow('syntax');
    expect(() => classify('x')).toThrow('syntax');
    expect(calls).toBe(2);
  });

  it('does not cache very long texts', () => {
    let calls = 0;
    const classify = cachedClassifier((sql) => { calls++; return answer(sql); });
    const long = 'x'.repeat(5000);
    classify(long);
    classify(long);
    expect(calls).toBe(2);
  });
});
