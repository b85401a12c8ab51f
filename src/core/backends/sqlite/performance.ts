/** sqlite: the performance part of the backend module (contract/performance.ts). */
import { KEYWORDS } from './keywords.js';
import type { PerformanceSupport } from '../contract/performance.js';
import { sqlitePlans } from './plans.js';
import { sqliteStats } from './stats.js';

export const performance: PerformanceSupport = {
  plans: sqlitePlans,
  stats: sqliteStats,
  // SQLite keeps no statistics of the statements run on it: the query log is the only source.
  sources: null,
  advice: {
    identifierQuote: '"',
    keywords: KEYWORDS,
    scanWords: { SCAN: 'full table scan' },
    analyze: (table) => `ANALYZE ${table}`,
    // EXPLAIN QUERY PLAN never says whether a sort spilled, so this is not named in practice.
    sortMemory: 'cache_size',
    estimatesOnly: 'EXPLAIN QUERY PLAN never runs the statement: rows and times are not measured',
  },
};
