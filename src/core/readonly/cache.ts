/**
 * Classification is a pure function of the SQL text, and agents repeat their
 * statements, so each dialect keeps a small LRU of recent answers. A thrown
 * error (a syntax error) is not cached: it is rethrown on every call.
 */
import type { Lexed } from '../sql-lexer.js';
import type { Classification } from './types.js';

/** Longer texts are classified every time: keeps the cache's memory small. */
const MAX_CACHED_TEXT = 4096;

/** `classify` behind a cache; `lexed` (the text's tokens, when the caller has them) is passed on a miss. */
export function cachedClassifier(classify: (sql: string, lexed?: Lexed) => Classification, max = 512): (sql: string, lexed?: Lexed) => Classification {
  const cache = new Map<string, Classification>();
  return (sql: string, lexed?: Lexed): Classification => {
    const hit = cache.get(sql);
    if (hit) {
      // Map keeps insertion order: re-inserting makes this the most recent entry.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const c = Object.freeze(classify(sql, lexed));
    if (sql.length <= MAX_CACHED_TEXT) {
      cache.set(sql, c);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    return c;
  };
}
