/**
 * What a backend module gives the performance side of the server (see ../types.ts):
 * readers of its plans, statistics and statement statistics, into the shapes of
 * core/performance/{plans,stats,sources}/types.ts. The managers there keep the orchestration.
 */
import type { PlanAdvice, PlanReader } from '../../performance/plans/types.js';
import type { StatementSource } from '../../performance/sources/types.js';
import type { StatsReader } from '../../performance/stats/types.js';

export interface PerformanceSupport {
  /** Reads EXPLAIN output into the common plan summary and fills it in from the catalog (monitor_query_performance). */
  readonly plans: PlanReader;
  /** Reads the database's statistics (get_database_stats). */
  readonly stats: StatsReader;
  /** The database's own per-statement statistics (analyze_slow_queries), or null when it keeps none. */
  readonly sources: StatementSource | null;
  /** The words and SQL of this backend that findings put in their advice. */
  readonly advice: PlanAdvice;
}
