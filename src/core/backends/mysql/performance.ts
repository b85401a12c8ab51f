/** mysql: the performance part of the backend module (contract/performance.ts). */
import { KEYWORDS } from './keywords.js';
import type { PerformanceSupport } from '../contract/performance.js';
import { mysqlPlans } from './plans.js';
import { performanceSchema } from './sources.js';
import { mysqlStats } from './stats.js';

export const performance: PerformanceSupport = {
  plans: mysqlPlans,
  stats: mysqlStats,
  sources: performanceSchema,
  advice: {
    identifierQuote: '`',
    keywords: KEYWORDS,
    scanWords: { ALL: 'full table scan (access type ALL)' },
    analyze: (table) => `ANALYZE TABLE ${table}`,
    sortMemory: 'sort_buffer_size',
    estimatesOnly: 'this server\'s JSON plan reports estimates only (MySQL\'s EXPLAIN ANALYZE has no JSON form): rows and times are not measured',
  },
};
