/**
 * Classification is a pure function of the SQL text, and agents repeat their
 * statements, so each dialect keeps a small LRU of recent answers. A thrown
 * error (a syntax error) is not cached: it is rethrown on every call.
 */
import type { Classification } from './types.js';

/** Longer texts are classified every time: keeps the cache's memory small. */
const MAX_CACHED_TEXT = 4096;

export function cachedClassifier(classify: (sql: string) => Classification, max = 512): (sql: string) => Classification {
  const cache = new Map<string, Classification>();
  return (sql: string): Classification => {
    const hit = cache.get(sql);
    if (hit) {
      // Map keeps insertion order: re-inserting makes this the most recent entry.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const c = Object.freeze(classify(sql));
    if (sql.length <= MAX_CACHED_TEXT) {
      cache.set(sql, c);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    return c;
  };
}
