/** Shared helpers of the review of 28592ac (SQLite reads in the server's own process). Real SQLite files, no mocks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect } from 'vitest';
import { DbError } from '../../src/errors.js';
import type { ExecOptions, Statement, StatementResult } from '../../src/core/dialect.js';
import { createSqliteDialect, type SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';

const logger = pino({ level: 'silent' });
const dialects: SqliteDialect[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dialects.splice(0).map((d) => d.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-rv17-'));
  dirs.push(dir);
  return join(dir, 'db.sqlite');
}

export function open(file: string, readOnly = false): SqliteDialect {
  const d = createSqliteDialect({
    backend: 'sqlite', name: 'rv17', url: `sqlite:${file}`, readOnly, poolSize: 1,
    statementTimeoutMs: 10_000, acquireTimeoutMs: 60_000, logger, file,
  });
  dialects.push(d);
  return d;
}

export const opts = (over: Partial<ExecOptions> = {}): ExecOptions => ({ maxRows: 1000, maxBytes: 4_000_000, timeoutMs: 10_000, ...over });
export const q = (text: string, params: unknown[] = []): Statement => ({ text, params });

/** The answer with the host stopped (SIGSTOP): a result means the server's own process ran it; 'TIMEOUT' that it went to the host. */
export async function withHostStopped(d: SqliteDialect, text: string, timeoutMs = 400): Promise<StatementResult | string> {
  await d.execute(q('SELECT 1'), opts());
  const pid = d.hostPid();
  expect(pid).not.toBeNull();
  process.kill(pid!, 'SIGSTOP');
  try {
    return await d.execute(q(text), opts({ timeoutMs })).catch((e: unknown) => (e instanceof DbError ? e.code : String(e)));
  } finally {
    try {
      process.kill(pid!, 'SIGCONT');
    } catch {
      // Killed at the timeout already.
    }
  }
}

/** Longest gap between 5 ms ticks while fn runs. */
export async function longestStall(fn: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 5);
  try {
    await new Promise((r) => setTimeout(r, 10));
    last = performance.now();
    longest = 0;
    await fn().catch(() => undefined);
    return Math.max(longest, performance.now() - last);
  } finally {
    clearInterval(tick);
  }
}

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
