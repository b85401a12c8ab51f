/**
 * performance_schema.events_statements_summary_by_digest (MySQL 5.6+, MariaDB 10.0+):
 * statements normalised by the server (constants become ?), per schema, times in
 * picoseconds. MariaDB ships with performance_schema OFF; turning it on needs a
 * restart.
 */
import type { Session } from '../../dialect.js';
import { num } from '../../performance/plans/types.js';
import type { Probe, SourceRow, StatementSource } from '../../performance/sources/types.js';

const PS_PER_MS = 1e9;

async function probe(s: Session): Promise<Probe> {
  const [on] = await s.query('SELECT @@performance_schema AS enabled');
  if (Number(on?.enabled) !== 1) {
    return { available: false, hint: 'set performance_schema = ON in the [mysqld] section of the server\'s my.cnf and restart the server; the statement digest table is then filled by default' };
  }
  const [consumer] = await s.query("SELECT ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME = 'statements_digest'");
  if (String(consumer?.enabled).toUpperCase() !== 'YES') {
    return { available: false, hint: "enable the digest consumer: UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = 'statements_digest'" };
  }
  return { available: true };
}

/** LAST_SEEN is a TIMESTAMP, shown in our sessions' UTC. */
const isoUtc = (v: unknown): string | null => (typeof v === 'string' && v ? `${v.replace(' ', 'T')}Z` : null);

async function slow(s: Session, thresholdMs: number, limit: number): Promise<SourceRow[]> {
  const rows = await s.query(
    `SELECT DIGEST_TEXT AS text, COUNT_STAR AS calls, SUM_TIMER_WAIT AS total, MAX_TIMER_WAIT AS max,
            SUM_ROWS_SENT + SUM_ROWS_AFFECTED AS \`rows\`, LAST_SEEN AS last_seen
     FROM performance_schema.events_statements_summary_by_digest
     WHERE SCHEMA_NAME = DATABASE() AND DIGEST_TEXT IS NOT NULL AND (AVG_TIMER_WAIT > ? OR MAX_TIMER_WAIT > ?)
     ORDER BY SUM_TIMER_WAIT DESC LIMIT ?`,
    [thresholdMs * PS_PER_MS, thresholdMs * PS_PER_MS, limit],
  );
  return rows.map((r) => ({
    text: String(r.text), calls: num(r.calls) ?? 0, total_ms: (num(r.total) ?? 0) / PS_PER_MS, max_ms: (num(r.max) ?? 0) / PS_PER_MS,
    rows: num(r.rows) ?? 0, last_seen: isoUtc(r.last_seen), p95_ms: null,
  }));
}

export const performanceSchema: StatementSource = { name: 'performance_schema', probe, slow };
