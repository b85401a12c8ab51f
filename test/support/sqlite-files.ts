/**
 * SQLite connections on temporary files for the tests of reads in the server's own process
 * (fast-read.ts): files and dialects made per test and removed after it, the answer of a read
 * with the host stopped (which process ran it), and how long the event loop was held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect } from 'vitest';
import { DbError } from '../../src/errors.js';
import type { Statement, StatementResult } from '../../src/core/dialect.js';
import { createSqliteDialect, type SqliteDialect } from '../../src/core/backends/sqlite/dialect.js';

const logger = pino({ level: 'silent' });

export const q = (text: string, params: unknown[] = []): Statement => ({ text, params });

/** newFile() and open(file) for one test file; what they made is closed and removed after each test. */
export function sqliteFiles(prefix: string, statementTimeoutMs = 5000): { newFile(): string; open(file: string, readOnly?: boolean): SqliteDialect } {
  const dialects: SqliteDialect[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dialects.splice(0).map((d) => d.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    newFile() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return join(dir, 'db.sqlite');
    },
    open(file, readOnly = false) {
      const d = createSqliteDialect({
        backend: 'sqlite', name: 'fast', url: `sqlite:${file}`, readOnly, poolSize: 1,
        statementTimeoutMs, acquireTimeoutMs: 60_000, logger, file,
      });
      dialects.push(d);
      return d;
    },
  };
}

/**
 * The answer with the host stopped (SIGSTOP), after a read that makes sure it runs and the
 * reader beside it is open: a result means the server's own process ran it; 'TIMEOUT' that
 * it went to the host.
 */
export async function withHostStopped(d: SqliteDialect, text: string, { params = [] as unknown[], timeoutMs = 400 } = {}): Promise<StatementResult | string> {
  const plain = { maxRows: 1000, maxBytes: 4_000_000, timeoutMs: 10_000 };
  await d.execute(q('SELECT 1'), plain);
  const pid = d.hostPid();
  expect(pid).not.toBeNull();
  process.kill(pid!, 'SIGSTOP');
  try {
    return await d.execute(q(text, params), { ...plain, timeoutMs }).catch((e: unknown) => (e instanceof DbError ? e.code : String(e)));
  } finally {
    try {
      process.kill(pid!, 'SIGCONT');
    } catch {
      // Killed at the timeout already.
    }
  }
}

/** Longest gap between 5 ms ticks while fn runs: how long the event loop was held. */
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
 * Runs fn with the fast path's budgets widened (fast-read.ts budgetMs): a read a test expects
 * to run in the server must not be stopped by a loaded machine's own pauses. Tests of stalls
 * keep the real budgets.
 */
export async function widened<T>(fn: () => Promise<T>): Promise<T> {
  process.env.CODOMYRMEX_SQLITE_BUDGET_MS = '250';
  try {
    return await fn();
  } finally {
    delete process.env.CODOMYRMEX_SQLITE_BUDGET_MS;
  }
}
