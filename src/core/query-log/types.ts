/** What the query log keeps and answers (index.ts), and what its store persists (store.ts). */

/** One statement as it left the database, fingerprinted. */
export interface LogEntry {
  connection: string;
  /** The tool that ran it: execute_query, execute_transaction, monitor_query_performance. */
  tool: string;
  fingerprint: string;
  ms: number;
  rows: number;
  /** Our error code (TIMEOUT, SYNTAX_ERROR ...) or null; never a message, which may quote values. */
  error: string | null;
  /** Epoch milliseconds. */
  at: number;
}

export interface FingerprintSummary {
  fingerprint: string;
  calls: number;
  errors: number;
  total_ms: number;
  mean_ms: number;
  /** Exact up to SAMPLE_SIZE calls, from a uniform sample beyond. */
  p95_ms: number;
  max_ms: number;
  rows: number;
  first_seen: number;
  last_seen: number;
  /** The tools that ran it. */
  tools: string[];
}

export interface LogTotals {
  statements: number;
  errors: number;
  fingerprints: number;
  /** Epoch ms of the oldest statement counted (persisted history included), or null. */
  since: number | null;
}
