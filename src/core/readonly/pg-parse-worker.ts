/**
 * Worker thread entry (dist/pg-parse-worker.js): classifies one long PostgreSQL text
 * off the main thread and posts the small Classification back (never the parse tree,
 * whose copy alone would cost the main thread what we moved away from it).
 * The parent terminates it at its deadline (pg-parse.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { asDbError } from '../../errors.js';
import type { WorkerAnswer } from './pg-parse.js';
import { classifyPostgres, loadPostgresParser } from './postgres.js';

async function main(): Promise<void> {
  const { sql } = workerData as { sql: string };
  let answer: WorkerAnswer;
  try {
    await loadPostgresParser();
    answer = { ok: true, value: classifyPostgres(sql) };
  } catch (err) {
    answer = { ok: false, error: asDbError(err).toJSON() };
  }
  parentPort?.postMessage(answer);
}

void main();
