/**
 * Where PostgreSQL statements are parsed. libpg-query runs on the calling thread and
 * some inputs cost far more than their length: adjacent block comments are quadratic
 * (4,000 `/∗∗/` in 16 KB: 130 ms; 30,000: 5 s; 1 MB: hours), and even linear shapes reach
 * seconds at the 1,000,000 characters a query may have (a 1 MB IN list: 1.4 s). A parse
 * on the main thread would stall every client of the server for that long.
 *
 * So short texts (the common case: agent statements are a few hundred characters) are
 * classified inline, where the worst shape measured stays under ~40 ms, and longer ones
 * in a worker thread with a deadline: past it the worker is terminated and the call gets
 * TOO_COMPLEX. Nothing here is module state: each dialect owns its classifier.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DbError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import { createGate } from '../limits.js';
import type { Classification } from './types.js';

/** Longest text classified on the calling thread: 2,000 adjacent comments (8 KB) parse in ~35 ms. */
export const INLINE_PARSE_MAX_CHARS = 8192;
/** A worker past this is terminated: a legitimate 1 MB statement classifies in about 2 s here. */
export const PARSE_DEADLINE_MS = 5000;
/** Long texts classified at once per connection; more wait, then BUSY. */
const MAX_PARSE_WORKERS = 2;
/** A worker's JS heap bound: the parse tree of a 1 MB statement is large, but not this large. */
const WORKER_HEAP_MB = 512;

export interface BoundedClassifierOptions {
  inlineMaxChars?: number;
  deadlineMs?: number;
}

/** What the worker posts back: a classification, or an error as DbError.toJSON() gives it. */
export type WorkerAnswer =
  | { ok: true; value: Classification }
  | { ok: false; error: { code: string; message: string; details: Record<string, unknown> } };

/**
 * An async classifier: `inline` (which may cache) for short texts, after `load`
 * (the WASM parser); a worker thread with a deadline for long ones.
 */
export function boundedClassifier(
  inline: (sql: string) => Classification,
  load: () => Promise<void>,
  opts: BoundedClassifierOptions = {},
): (sql: string) => Promise<Classification> {
  const inlineMax = opts.inlineMaxChars ?? INLINE_PARSE_MAX_CHARS;
  const deadlineMs = opts.deadlineMs ?? PARSE_DEADLINE_MS;
  const gate = createGate(MAX_PARSE_WORKERS, deadlineMs);
  return async (sql) => {
    if (sql.length <= inlineMax) {
      await load();
      return inline(sql);
    }
    const release = await gate.acquire().catch((err: DbError) => {
      throw err.code === 'BUSY' ? new DbError('BUSY', `${MAX_PARSE_WORKERS} long statements were already being checked for ${deadlineMs} ms; try again later`, { parse_workers: MAX_PARSE_WORKERS, waited_ms: deadlineMs }) : err;
    });
    try {
      return await classifyInWorker(sql, deadlineMs);
    } finally {
      release();
    }
  };
}

/** One worker per long text: it is rare, and a worker that ran over is terminated anyway. */
function classifyInWorker(sql: string, deadlineMs: number): Promise<Classification> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(resolveWorkerPath(), { workerData: { sql }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(tooComplex(sql, `the PostgreSQL parser did not finish within ${deadlineMs} ms`, { deadline_ms: deadlineMs }))), deadlineMs);
    worker.once('message', (answer: WorkerAnswer) => finish(() => (answer.ok ? resolve(answer.value) : reject(fromWorkerError(answer.error)))));
    worker.once('error', (err: Error & { code?: string }) => finish(() => reject(
      err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? tooComplex(sql, `the PostgreSQL parser needed more than ${WORKER_HEAP_MB} MB`, { memory_mb: WORKER_HEAP_MB })
        : new DbError('INTERNAL', `the PostgreSQL parser worker failed: ${err.message}`, {}, { cause: err }),
    )));
    worker.once('exit', (code) => finish(() => reject(new DbError('INTERNAL', `the PostgreSQL parser worker exited (${code})`))));
  });
}

function tooComplex(sql: string, why: string, details: Record<string, unknown>): DbError {
  return new DbError('TOO_COMPLEX', `${why}; the statement (${sql.length} characters) is too costly to check. Split it, or remove long runs of comments`, { length: sql.length, ...details });
}

function fromWorkerError(e: { code: string; message: string; details: Record<string, unknown> }): DbError {
  const code = (ERROR_CODES as readonly string[]).includes(e.code) ? (e.code as ErrorCode) : 'INTERNAL';
  return new DbError(code, e.message, e.details);
}

/** Beside this module in the bundle (dist/); from the TS sources (tests), the project's dist/. */
function resolveWorkerPath(): string {
  const beside = fileURLToPath(new URL('./pg-parse-worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const built = join(dir, 'dist', 'pg-parse-worker.js');
      if (existsSync(built)) return built;
      break;
    }
  }
  throw new DbError('INTERNAL', 'the PostgreSQL parser worker (dist/pg-parse-worker.js) is not built; run `npm run build`');
}
