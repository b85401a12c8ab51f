/**
 * Fault: the server is SIGKILLed during a native SQLite backup (the frozen file copied)
 * and during a native SQLite restore (the file written over an empty database, page 1
 * last), at random points. Promised (SPEC §17.4, §17.8):
 * - backup: no final file and no manifest, or the whole backup listed ok, or (killed
 *   between the two links) the manifest alone listed incomplete; never a data file
 *   without its manifest; the source keeps every row and stays intact.
 * - restore: the target opens as a sound database (integrity_check ok) that holds
 *   nothing of the backup or all of it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, startStdio } from '../support/mcp.js';
import { between, histogram, killAfter, killedBetweenLinks, type Stdio } from './kill.js';
import { configFile } from './process.js';
import { record, REPEAT, tally, type Tally } from './tally.js';

type Json = Record<string, any>;
const ROWS = 200_000;

/** What SQLite finds in a file: its integrity check and the rows of `big` (null: no such table). */
function inspect(file: string): { ok: string; rows: number | null } {
  const d = new Database(file);
  try {
    const ok = String(d.pragma('integrity_check', { simple: true }));
    const table = d.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'big'").get();
    return { ok, rows: table ? Number((d.prepare('SELECT count(*) AS n FROM big').get() as { n: number }).n) : null };
  } finally {
    d.close();
  }
}

describe('fault: SIGKILL during a native SQLite backup and restore', () => {
  const tb: Tally = tally('server SIGKILLed during a native backup', 'sqlite');
  const tr: Tally = tally('server SIGKILLed during a native restore', 'sqlite');
  const dbDir = tempDir('cmx-knat-');
  const refDir = tempDir('cmx-knat-ref-');
  const src = join(dbDir, 'src.db');
  const took = { backup: 0, restore: 0 };
  const server = (file: string, dir: string): Promise<Stdio> => startStdio(['--config', configFile({ db: { url: `sqlite://${file}` } }, { backup_dir: dir })]);

  beforeAll(async () => {
    const s = await server(src, refDir);
    try {
      await mustCall(s.client, 'execute_query', { connection: 'db', query: 'CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT, n INTEGER)' });
      await mustCall(s.client, 'execute_query', { connection: 'db', query: `INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, printf('%080d', x), x * 7 FROM c` });
      let t0 = Date.now();
      await mustCall(s.client, 'create_backup', { database: 'db', output_path: 'ref.sqlite', format: 'native' });
      took.backup = Date.now() - t0;
    } finally {
      await s.close();
    }
    const d = await server(join(dbDir, 'timing.db'), refDir);
    try {
      await mustCall(d.client, 'get_connection', { connection: 'db' });
      const t0 = Date.now();
      await mustCall(d.client, 'restore_backup', { database: 'db', backup_path: 'ref.sqlite' });
      took.restore = Date.now() - t0;
    } finally {
      await d.close();
    }
  });

  afterAll(() => {
    record(tb);
    record(tr);
  });

  it(`a native backup killed at a random point leaves no file, or the whole backup; the source intact, ${REPEAT} times`, async () => {
    const dir = tempDir('cmx-knat-bak-');
    const outcomes: string[] = [];
    const checker = await startInProcess({ db: { url: `sqlite://${join(dbDir, 'checker.db')}` } }, { backup_dir: dir });
    try {
      for (let rep = 0; rep < REPEAT; rep++) {
        const s = await server(src, dir);
        const name = `killed-${rep}.sqlite`;
        let killed: Promise<void> | undefined;
        const delay = between(0, took.backup);
        const outcome = await s.client.callTool({ name: 'create_backup', arguments: { database: 'db', output_path: name, format: 'native' } }, CallToolResultSchema, {
          timeout: 60_000,
          onprogress: () => { killed ??= killAfter(s, delay); },
        }).then((r) => (r.isError ? `error ${JSON.stringify(r.content).slice(0, 200)}` : 'finished'), () => 'killed');
        await (killed ?? killAfter(s, 0));
        await s.close().catch(() => undefined);
        tb.runs++;
        const files = (await fs.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
        const listed = (await mustCall(checker.client, 'list_backups', { verify: true })).backups as Json[];
        const whole = JSON.stringify(files) === JSON.stringify([name, `${name}.manifest.json`]);
        const midLink = outcome === 'killed' && await killedBetweenLinks(dir, name, files, listed);
        outcomes.push(outcome === 'killed' && whole ? 'killed after finishing' : midLink ? 'killed between the links' : outcome);
        if (outcome.startsWith('error')) tb.failures.push(`rep ${rep}: ${outcome}`);
        if (midLink) {
          // The manifest alone (SPEC §17.4): listed incomplete, checked by killedBetweenLinks.
        } else if (whole) {
          if (!(listed.length === 1 && listed[0].status === 'ok' && listed[0].rows === ROWS)) tb.failures.push(`rep ${rep}: whole, listed ${JSON.stringify(listed)}`);
          else if (inspect(join(dir, name)).rows !== ROWS) tb.failures.push(`rep ${rep}: the backup does not hold ${ROWS} rows`);
        } else {
          if (outcome === 'finished') tb.failures.push(`rep ${rep}: finished, and the directory holds ${files.join(', ')}`);
          if (files.length) tb.failures.push(`rep ${rep}: killed, and the directory holds ${files.join(', ')}`);
        }
        const seen = inspect(src);
        if (seen.ok !== 'ok') tb.failures.push(`rep ${rep}: the source fails its integrity check: ${seen.ok}`);
        tb.lostRows += ROWS - (seen.rows ?? 0);
        for (const f of await fs.readdir(dir)) await fs.rm(join(dir, f), { force: true });
      }
    } finally {
      await checker.close();
    }
    console.error(`[faults] native SQLite backup killed (undisturbed ${took.backup} ms): ${histogram(outcomes)}`);
    expect(tb.failures).toEqual([]);
    expect(tb.lostRows).toBe(0);
  }, Math.max(300_000, REPEAT * 15_000));

  it(`a native restore killed at a random point leaves a sound database with nothing or all of the backup, ${REPEAT} times`, async () => {
    const outcomes: string[] = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      const target = join(dbDir, `target-${rep}.db`);
      const s = await server(target, refDir);
      await mustCall(s.client, 'get_connection', { connection: 'db' });
      const delay = between(0, took.restore * 1.2);
      const [outcome] = await Promise.all([
        callTool(s.client, 'restore_backup', { database: 'db', backup_path: 'ref.sqlite' }).then((r) => (r.ok ? 'finished' : `error ${r.error.code} ${r.error.message}`), () => 'killed'),
        killAfter(s, delay),
      ]);
      await s.close().catch(() => undefined);
      tr.runs++;
      const seen = inspect(target);
      const state = seen.rows === null ? 'nothing' : seen.rows === ROWS ? 'whole' : `partial (${seen.rows})`;
      outcomes.push(`${outcome}/${state}`);
      if (outcome.startsWith('error')) tr.failures.push(`rep ${rep}: ${outcome}`);
      if (seen.ok !== 'ok') tr.failures.push(`rep ${rep}: the target fails its integrity check: ${seen.ok}`);
      if (outcome === 'finished' && state !== 'whole') tr.failures.push(`rep ${rep}: finished, and the target holds ${state}`);
      if (state.startsWith('partial')) {
        tr.phantomRows += seen.rows!;
        tr.failures.push(`rep ${rep}: a killed restore left ${state}`);
      }
      for (const suffix of ['', '-wal', '-shm', '-journal']) await fs.rm(target + suffix, { force: true });
    }
    console.error(`[faults] native SQLite restore killed (undisturbed ${took.restore} ms): ${histogram(outcomes)}`);
    expect(tr.failures).toEqual([]);
  }, Math.max(300_000, REPEAT * 15_000));
});
