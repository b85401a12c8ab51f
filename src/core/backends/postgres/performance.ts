/** postgres: the performance part of the backend module (contract/performance.ts). */
import { KEYWORDS } from './keywords.js';
import type { PerformanceSupport } from '../contract/performance.js';
import { postgresPlans } from './plans.js';
import { pgStatStatements } from './sources.js';
import { postgresStats } from './stats.js';

export const performance: PerformanceSupport = {
  plans: postgresPlans,
  stats: postgresStats,
  sources: pgStatStatements,
  advice: {
    identifierQuote: '"',
    keywords: KEYWORDS,
    scanWords: { 'Seq Scan': 'sequential scan' },
    analyze: (table) => `ANALYZE ${table}`,
    sortMemory: 'work_mem',
    estimatesOnly: 'the plan reports estimates only: rows and times are not measured',
  },
};
