/**
 * Worker thread entry (dist/sql-worker.js): one job on one long agent text (jobs.ts),
 * off the main thread. Posts back the small answer (never a token list or parse tree,
 * whose copy alone would cost the main thread what we moved away from it). The parent
 * terminates it at its deadline (offload/index.ts).
 *
 * It loads only the sql part of the job's backend (backends/<name>/sql.ts, which every
 * backend has: the recipe in AGENTS.md), not the whole module: a worker starts for each
 * long text, so what it loads is paid on every one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SqlSupport } from '../backends/contract/sql.js';
import { runJob, type Job } from './jobs.js';

async function sqlOf(backend: string): Promise<SqlSupport> {
  // The name comes from the dialect that started the job; still, it only ever names a folder.
  // The path names the source file: esbuild bundles every match of the pattern.
  if (!/^[a-z][a-z0-9_]*$/.test(backend)) throw new Error(`unknown backend ${JSON.stringify(backend)}`);
  const part = (await import(`../backends/${backend}/sql.ts`)) as { sql: SqlSupport };
  return part.sql;
}

void runJob(workerData as Job, sqlOf).then((answer) => parentPort?.postMessage(answer));
