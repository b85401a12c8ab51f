/**
 * Child scenario, run by escape.test.ts in its own vitest process (CMX_REVIEW_CHILD=<case>), because when the
 * finding holds the server's event loop never comes back. Prints `STALL <ms>` of the longest event-loop gap.
 */
import Database from 'better-sqlite3';
import { it } from 'vitest';
import { longestStall, newFile, open, opts, q } from '../../review17-fast/helpers.js';

const which = process.env.CMX_REVIEW_CHILD;

it.runIf(which !== undefined)('child case ' + which, async () => {
  const file = newFile();
  const w = new Database(file);
  w.exec('CREATE TABLE b (x INTEGER PRIMARY KEY)');
  w.exec('INSERT INTO b WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM g WHERE i < 2000) SELECT i FROM g');
  w.close();
  const d = open(file);
  await d.execute(q('SELECT 1'), opts());
  const n = Number(process.env.CMX_PARAMS ?? 4000);
  const size = Number(process.env.CMX_PARAM_BYTES ?? 4000);
  // A cross join of 8e9 rows, and n parameters that the parser drops (0 AND ...) but that are still bound.
  const text = `SELECT count(*) AS c FROM b x, b y, b z WHERE 1 OR (0 AND ${Array(n).fill('?').join('AND')})`;
  const params = Array.from({ length: n }, (_, i) => 'p'.repeat(size - 6) + String(i).padStart(6, '0'));
  for (let run = 0; run < Number(process.env.CMX_RUNS ?? 3); run++) {
    const stall = await longestStall(() => d.execute({ text, params }, opts({ timeoutMs: 2000 })).then((r) => console.log('ANSWER', r.rows), (e) => console.log('ERROR', (e as Error).message.slice(0, 80))));
    console.log('STALL', Math.round(stall));
  }
}, 600_000);
