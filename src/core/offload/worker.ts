/**
 * Worker thread entry (dist/sql-worker.js): one job on one long agent text (jobs.ts),
 * off the main thread. Posts back the small answer (never a token list or parse tree,
 * whose copy alone would cost the main thread what we moved away from it). The parent
 * terminates it at its deadline (offload/index.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backendModule, isBackend } from '../backends/lookup.js';
import { runJob, type Job } from './jobs.js';

function sqlOf(backend: string) {
  if (!isBackend(backend)) throw new Error(`unknown backend ${JSON.stringify(backend)}`);
  return backendModule(backend).sql;
}

void runJob(workerData as Job, sqlOf).then((answer) => parentPort?.postMessage(answer));
