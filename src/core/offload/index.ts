/**
 * Long agent texts are lexed, placeholder-translated and classified off the main thread.
 * Every lexer here costs 0.5-1.5 µs per token plus GC, so 1 MB of commas or comments
 * (250,000-500,000 tokens) held the event loop for 0.6-1.5 s per pass, several passes per
 * call (placeholders, classifier, leading keyword); libpg-query is worse, quadratic on
 * adjacent comments. Every other client of the server waited that long.
 *
 * So a text up to INLINE_MAX_CHARS (the common case: agent statements are a few hundred
 * characters) keeps the synchronous path, where the worst shape measured costs ~25 ms per
 * pass, and a longer one runs as a job (jobs.ts) in a worker thread with a deadline: past
 * it the worker is terminated and the call gets TOO_COMPLEX. No module state: the
 * context owns one offloader (placeholders), each dialect one (its classifier).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DbError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import { createGate } from '../limits.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import { cachedClassifier } from '../readonly/cache.js';
import type { Lexed } from '../sql-lexer.js';
import type { Analysis, Job, WorkerAnswer } from './jobs.js';

export { hasConditionalComment, leadingKeywordOf, type Analysis } from './jobs.js';

/**
 * Longest text handled on the calling thread. At 8,192 characters the costliest shapes
 * measured (`,?` or `,1` repeated; 2,000 adjacent `/∗∗/` for libpg-query) take 10-35 ms
 * per pass with a warm JIT: about the cost of starting a worker, so nothing is gained below.
 */
export const INLINE_MAX_CHARS = 8192;
/** A worker past this is terminated: a legitimate 1 MB statement takes about 2 s here. */
export const OFFLOAD_DEADLINE_MS = 5000;
/** Long texts handled at once per offloader; more wait, then BUSY. */
const MAX_WORKERS = 2;
/** A worker's JS heap bound: the tokens or parse tree of a 1 MB text are large, but not this large. */
const WORKER_HEAP_MB = 512;

export interface OffloadOptions {
  inlineMaxChars?: number;
  deadlineMs?: number;
}

export interface Offloader {
  readonly inlineMaxChars: number;
  /** Runs one job in a worker (whatever the text's length), within the deadline. */
  run<T>(job: Job): Promise<T>;
}

export function createOffloader(opts: OffloadOptions = {}): Offloader {
  const deadlineMs = opts.deadlineMs ?? OFFLOAD_DEADLINE_MS;
  const gate = createGate(MAX_WORKERS, deadlineMs);
  return {
    inlineMaxChars: opts.inlineMaxChars ?? INLINE_MAX_CHARS,
    async run<T>(job: Job): Promise<T> {
      const release = await gate.acquire().catch((err: DbError) => {
        throw err.code === 'BUSY' ? new DbError('BUSY', `${MAX_WORKERS} long statements were already being checked for ${deadlineMs} ms; try again later`, { parse_workers: MAX_WORKERS, waited_ms: deadlineMs }) : err;
      });
      try {
        return (await inWorker(job, deadlineMs)) as T;
      } finally {
        release();
      }
    },
  };
}

/**
 * A dialect's classifier, from its backend's sql part: `part.classify` (cached) for short
 * texts, after `part.loadClassifier`, given `lexed` when the caller has the text's tokens;
 * the worker for long ones, which loads the sql part of the backend named `backend` (the
 * same part: both come from the backend's folder), whose answer also carries the
 * leading keyword and, on MySQL, whether a `/*!` comment is present, so the dialect never
 * lexes a long text.
 */
export function boundedClassifier(
  backend: string,
  part: SqlSupport,
  opts: OffloadOptions = {},
): (sql: string, lexed?: Lexed) => Promise<Analysis> {
  const inline = cachedClassifier((text, lexed) => part.classify(text, lexed));
  const load = async (): Promise<void> => { await part.loadClassifier?.(); };
  const offloader = createOffloader(opts);
  // The last long answer: monitor_query_performance classifies the same text once per run.
  let last: { sql: string; value: Analysis } | null = null;
  return async (sql, lexed) => {
    if (sql.length <= offloader.inlineMaxChars) {
      await load();
      return inline(sql, lexed);
    }
    if (last?.sql === sql) return last.value;
    const value = Object.freeze(await offloader.run<Analysis>({ op: 'classify', backend, sql }));
    last = { sql, value };
    return value;
  };
}

/** One worker per long text: it is rare, and a worker that ran over is terminated anyway. */
function inWorker(job: Job, deadlineMs: number): Promise<unknown> {
  const { sql } = job;
  return new Promise((resolve, reject) => {
    const worker = new Worker(resolveWorkerPath(), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(tooComplex(sql, `checking it did not finish within ${deadlineMs} ms`, { deadline_ms: deadlineMs }))), deadlineMs);
    worker.once('message', (answer: WorkerAnswer) => finish(() => (answer.ok ? resolve(answer.value) : reject(fromWorkerError(answer.error, sql)))));
    worker.once('error', (err: Error & { code?: string }) => finish(() => reject(
      err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? tooComplex(sql, `checking it needed more than ${WORKER_HEAP_MB} MB`, { memory_mb: WORKER_HEAP_MB })
        : new DbError('INTERNAL', `the statement checker worker failed: ${err.message}`, {}, { cause: err }),
    )));
    worker.once('exit', (code) => finish(() => reject(tooComplex(sql, `checking it stopped the checker (exit ${code})`, {}))));
  });
}

function tooComplex(sql: string, why: string, details: Record<string, unknown>): DbError {
  return new DbError('TOO_COMPLEX', `${why}; the statement (${sql.length} characters) is too costly to check. Split it, or remove long runs of comments`, { length: sql.length, ...details });
}

/** The checker's own answer; a fault inside it on a long text (the parser out of memory, say) is the text's cost, not ours. */
function fromWorkerError(e: { code: string; message: string; details: Record<string, unknown> }, sql: string): DbError {
  const code = (ERROR_CODES as readonly string[]).includes(e.code) ? (e.code as ErrorCode) : 'INTERNAL';
  if (code === 'INTERNAL') return tooComplex(sql, `checking it failed (${e.message.slice(0, 200)})`, {});
  return new DbError(code, e.message, e.details);
}

/** Beside the bundle's chunks (dist/); from the TS sources (tests), the project's dist/. */
function resolveWorkerPath(): string {
  const beside = fileURLToPath(new URL('./sql-worker.js', import.meta.url));
  if (existsSync(beside)) return beside;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const built = join(dir, 'dist', 'sql-worker.js');
      if (existsSync(built)) return built;
      break;
    }
  }
  throw new DbError('INTERNAL', 'the statement checker worker (dist/sql-worker.js) is not built; run `npm run build`');
}
