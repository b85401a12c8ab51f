/**
 * vitest globalSetup: clears the fault tallies before a run and prints their table
 * after it (on stderr, with the [faults] prefix CI logs are grepped for). Runs that
 * include no fault file print nothing.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TALLY_DIR, type Tally } from './tally.js';

export function setup(): void {
  rmSync(TALLY_DIR, { recursive: true, force: true });
}

export function teardown(): void {
  if (!existsSync(TALLY_DIR)) return;
  const rows: Tally[] = readdirSync(TALLY_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(TALLY_DIR, f), 'utf8')) as Tally)
    .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.backend.localeCompare(b.backend));
  if (rows.length === 0) return;
  const head = ['scenario', 'backend', 'runs', 'crashes', 'lost rows', 'phantom rows', 'failures'];
  const body = rows.map((r) => [r.scenario, r.backend, r.runs, r.crashes, r.lostRows, r.phantomRows, r.failures.length].map(String));
  const sum = (k: 'runs' | 'crashes' | 'lostRows' | 'phantomRows') => rows.reduce((n, r) => n + r[k], 0);
  body.push(['total', '', sum('runs'), sum('crashes'), sum('lostRows'), sum('phantomRows'), rows.reduce((n, r) => n + r.failures.length, 0)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `[faults] ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  console.error(line(head));
  for (const r of body) console.error(line(r));
  console.error(`[faults] scenarios run: ${sum('runs')}, crashes: ${sum('crashes')}, committed rows lost: ${sum('lostRows')}, rows committed from killed transactions: ${sum('phantomRows')}`);
  const scans = rows.reduce((n, r) => n + (r.secretScans ?? 0), 0);
  if (scans > 0) console.error(`[faults] sentinel password: ${scans} server messages and log lines searched, ${rows.reduce((n, r) => n + (r.secretHits ?? 0), 0)} hits`);
  for (const r of rows) for (const f of r.failures.slice(0, 5)) console.error(`[faults]   ${r.scenario} ${r.backend}: ${f}`);
}
