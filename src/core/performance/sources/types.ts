/**
 * A database's own statement statistics (pg_stat_statements, performance_schema's
 * digest table), read as rows that analyze_slow_queries merges with the query log.
 */
import type { Session } from '../../dialect.js';

export interface SourceRow {
  /** The database's normalised text ($1 or ? for constants); fingerprinted before merging. */
  text: string;
  calls: number;
  total_ms: number;
  max_ms: number;
  rows: number;
  /** ISO 8601, or null when the source keeps no such time. */
  last_seen: string | null;
  p95_ms: number | null;
}

export type Probe = { available: true } | { available: false; hint: string };

export interface StatementSource {
  readonly name: string;
  /** Whether the source can be read here; when not, how an operator turns it on. */
  probe(s: Session): Promise<Probe>;
  /** Statements whose mean or max time is over thresholdMs, by total time, at most `limit`. */
  slow(s: Session, thresholdMs: number, limit: number): Promise<SourceRow[]>;
}
