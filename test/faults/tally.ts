/**
 * The fault suite's counts. Every scenario file records, per scenario and backend, how
 * many times it ran and what went wrong; `report.ts` (vitest globalSetup) sums the files
 * of one run into the table printed at the end. Counts live in files because vitest runs
 * test files in separate processes.
 *
 * FAULT_REPEAT sets the repetitions of every scenario: 20 by default, as issue 8 asks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPEAT = Math.max(1, Number(process.env.FAULT_REPEAT) || 20);

export const TALLY_DIR = resolve(import.meta.dirname, '../../.tmp/faults');

export interface Tally {
  /** Short name of the fault, e.g. "database restart mid-session". */
  scenario: string;
  /** postgres, mysql, sqlite or "-" when the scenario is not about one backend. */
  backend: string;
  /** Repetitions completed. */
  runs: number;
  /** Server processes that died (or in-process servers that threw out of a request). */
  crashes: number;
  /** Rows committed before the fault and missing after it. */
  lostRows: number;
  /** Rows of killed or failed transactions found committed afterwards. */
  phantomRows: number;
  /** Any other broken promise, one line each (must stay empty). */
  failures: string[];
  /** Server messages and log lines searched for the sentinel password (files that search). */
  secretScans: number;
  /** How many of them held it (must be 0). */
  secretHits: number;
}

export function tally(scenario: string, backend = '-'): Tally {
  return { scenario, backend, runs: 0, crashes: 0, lostRows: 0, phantomRows: 0, failures: [], secretScans: 0, secretHits: 0 };
}

/** Writes the tally for the final table; call it in afterAll even when the test failed. */
export function record(t: Tally): void {
  mkdirSync(TALLY_DIR, { recursive: true });
  const file = `${t.scenario.replace(/[^a-z0-9]+/gi, '-')}-${t.backend}-${process.pid}.json`;
  writeFileSync(join(TALLY_DIR, file), JSON.stringify(t));
}
