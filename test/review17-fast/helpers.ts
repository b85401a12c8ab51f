/** Shared helpers of the review of 28592ac (SQLite reads in the server's own process). Real SQLite files, no mocks. */
import type { ExecOptions, StatementResult } from '../../src/core/dialect.js';
import type { SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';
import { longestStall, q, sqliteFiles, withHostStopped as stopped } from '../support/sqlite-files.js';

export { longestStall, q };
export const { newFile, open } = sqliteFiles('cmx-rv17-', 10_000);

export const opts = (over: Partial<ExecOptions> = {}): ExecOptions => ({ maxRows: 1000, maxBytes: 4_000_000, timeoutMs: 10_000, ...over });

/** The answer with the host stopped (SIGSTOP): a result means the server's own process ran it; 'TIMEOUT' that it went to the host. */
export const withHostStopped = (d: SqliteDialect, text: string, timeoutMs = 400): Promise<StatementResult | string> => stopped(d, text, { timeoutMs });

/**
 * The stalls of `runs` runs of one read (after a warm-up read that opens the reader beside the host).
 * The promise (SPEC §Timeouts, SQLite): other calls wait at most a few budgets, tens of ms, never hundreds.
 */
export async function stalls(d: SqliteDialect, text: string, runs = 5): Promise<number[]> {
  await d.execute(q('SELECT 1'), opts());
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    await d.execute(q('SELECT 1'), opts());
    out.push(Math.round(await longestStall(() => d.execute(q(text), opts()))));
  }
  return out;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The bound the tests hold reads to: the median of several runs must stay under it (a loaded machine makes single runs noisy). */
export const STALL_LIMIT_MS = 100;
