/**
 * Fault: the server is SIGKILLed during a backup and during a restore, at random points.
 * Promised (SPEC §17.4, §17.6):
 * - backup: no final file and no manifest (only hidden temporaries, which no tool lists);
 *   list_backups shows nothing ok; the source keeps every row. A backup that finished
 *   before the kill landed (answered or not) is listed ok and complete; a kill between
 *   the two links (manifest first, data file last) leaves the manifest alone, listed
 *   incomplete; never a data file without its manifest.
 * - restore (PostgreSQL, SQLite: one transaction): the target holds nothing of the
 *   backup or all of it, never part of a table. MySQL/MariaDB commits a create-mode
 *   restore statement by statement (§17.6 step 8, §17.9): the table may hold a part, but
 *   only rows of the backup, with their values; a restarted server restores it again
 *   with mode replace.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, startStdio } from '../support/mcp.js';
import { between, countOf, histogram, killAfter, killedBetweenLinks, raw, waitQuiet, type Stdio } from './kill.js';
import { configFile } from './process.js';
import { record, REPEAT, tally, type Tally } from './tally.js';

type Json = Record<string, any>;
const ROWS = 60_000;

function fillSql(backend: TestBackend['name']): string {
  const payload = "'payload payload payload payload payload payload payload'";
  if (backend === 'postgres') return `INSERT INTO big (id, payload, n) SELECT g, ${payload} || g, g * 7 FROM generate_series(1, ${ROWS}) g`;
  if (backend === 'mysql') return `INSERT INTO big (id, payload, n) SELECT seq, concat(${payload}, seq), seq * 7 FROM seq_1_to_${ROWS}`;
  return `INSERT INTO big (id, payload, n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, ${payload} || x, x * 7 FROM c`;
}

/** create_backup, reporting its first progress notification. */
function backupCall(client: Client, args: Json, onStarted: () => void): Promise<Json> {
  let started = false;
  return client.callTool({ name: 'create_backup', arguments: args }, CallToolResultSchema, {
    timeout: 60_000,
    onprogress: () => { if (!started) { started = true; onStarted(); } },
  }) as Promise<Json>;
}

const visible = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => !n.startsWith('.')).sort();

describe.each(BACKENDS)('fault: SIGKILL during a backup and a restore on $name', (backend: TestBackend) => {
  const tb: Tally = tally('server SIGKILLed during a backup', backend.name);
  const tr: Tally = tally('server SIGKILLed during a restore', backend.name);
  const refDir = tempDir('cmx-kref-');
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  /** How long an undisturbed backup and restore take: the kills land within that. */
  const took = { backup: 0, restore: 0 };

  const server = (url: string, dir: string): Promise<Stdio> => startStdio(['--config', configFile({ db: { url } }, { backup_dir: dir })]);

  beforeAll(async () => {
    src = await freshDatabase(backend, 'ksrc');
    dst = await freshDatabase(backend, 'kdst');
    const s = await server(src.url, refDir);
    try {
      await mustCall(s.client, 'execute_query', { connection: 'db', query: 'CREATE TABLE big (id integer PRIMARY KEY, payload varchar(100), n integer)' });
      await mustCall(s.client, 'execute_query', { connection: 'db', query: fillSql(backend.name) });
      let t0 = Date.now();
      await mustCall(s.client, 'create_backup', { database: 'db', output_path: 'ref.cmx.gz' });
      took.backup = Date.now() - t0;
      const d = await server(dst.url, refDir);
      t0 = Date.now();
      await mustCall(d.client, 'restore_backup', { database: 'db', backup_path: 'ref.cmx.gz' });
      took.restore = Date.now() - t0;
      await d.close();
      await raw(backend.name, dst.url, 'DROP TABLE big');
    } finally {
      await s.close();
    }
  });

  afterAll(async () => {
    record(tb);
    record(tr);
    await src?.drop();
    await dst?.drop();
  });

  it(`a backup killed at a random point leaves no file listed ok, ${REPEAT} times`, async () => {
    const dir = tempDir('cmx-kbak-');
    const outcomes: string[] = [];
    // Reads what a restarted server would see; in-process, so a repetition spawns one server
    // only. Its connection is to the other database: waitQuiet(src) must see the victim's sessions only.
    const checker = await startInProcess({ db: { url: dst.url } }, { backup_dir: dir });
    try {
      for (let rep = 0; rep < REPEAT; rep++) {
        const s = await server(src.url, dir);
        const name = `killed-${rep}.cmx.gz`;
        let killed: Promise<void> | undefined;
        // From the first progress (the file is being written) to about the end of an undisturbed backup.
        const delay = between(0, took.backup);
        const call = backupCall(s.client, { database: 'db', output_path: name }, () => { killed = killAfter(s, delay); })
          .then((r) => (r.isError ? `error ${JSON.stringify(r.content).slice(0, 200)}` : 'finished'), () => 'killed');
        const outcome = await call;
        await (killed ?? killAfter(s, 0));
        await s.close().catch(() => undefined);
        outcomes.push(outcome);
        tb.runs++;
        await waitQuiet(backend.name, src.url);
        const files = await visible(dir);
        const listed = (await mustCall(checker.client, 'list_backups', { verify: true })).backups as Json[];
        const whole = JSON.stringify(files) === JSON.stringify([name, `${name}.manifest.json`]);
        // Killed after the manifest's link, before the answer went out: a whole backup.
        if (outcome === 'killed' && whole) outcomes[outcomes.length - 1] = 'killed after finishing';
        // Killed in the microseconds between the manifest's link and the data file's (SPEC §17.4).
        if (outcome === 'killed' && await killedBetweenLinks(dir, name, files, listed)) {
          outcomes[outcomes.length - 1] = 'killed between the links';
        } else if (outcome === 'finished' || whole) {
          if (JSON.stringify(files) !== JSON.stringify([name, `${name}.manifest.json`])) tb.failures.push(`rep ${rep}: finished, but the directory holds ${files.join(', ')}`);
          if (!(listed.length === 1 && listed[0].status === 'ok' && listed[0].rows === ROWS)) tb.failures.push(`rep ${rep}: finished, listed ${JSON.stringify(listed)}`);
        } else {
          if (outcome !== 'killed') tb.failures.push(`rep ${rep}: ${outcome}`);
          if (files.length) tb.failures.push(`rep ${rep}: killed, and the directory holds ${files.join(', ')}`);
          if (listed.length) tb.failures.push(`rep ${rep}: killed, and list_backups shows ${JSON.stringify(listed.map((b) => [b.name, b.status]))}`);
          const r = await callTool(checker.client, 'restore_backup', { database: 'db', backup_path: name, mode: 'append' });
          if (r.ok || r.error.code !== 'UNDEFINED_OBJECT') tb.failures.push(`rep ${rep}: restoring the killed backup gave ${r.ok ? 'ok' : r.error.code}`);
        }
        const n = await countOf(backend.name, src.url, 'big');
        tb.lostRows += ROWS - (n ?? 0);
        // The hidden temporary is the operator's to delete (SPEC §17.4).
        for (const f of await fs.readdir(dir)) await fs.rm(join(dir, f), { force: true });
      }
    } finally {
      await checker.close();
    }
    console.error(`[faults] backup killed on ${backend.name} (undisturbed ${took.backup} ms): ${histogram(outcomes)}`);
    expect(tb.failures).toEqual([]);
    expect(tb.lostRows).toBe(0);
  }, 300_000);

  it(`a restore killed at a random point leaves nothing or the whole backup (MySQL: only backup rows), ${REPEAT} times`, async () => {
    const outcomes: string[] = [];
    const atomic = backend.name !== 'mysql';
    await raw(backend.name, dst.url, 'DROP TABLE IF EXISTS big');
    for (let rep = 0; rep < REPEAT; rep++) {
      const s = await server(dst.url, refDir);
      const delay = between(0, took.restore * 1.2);
      const call = callTool(s.client, 'restore_backup', { database: 'db', backup_path: 'ref.cmx.gz' })
        .then((r) => (r.ok ? 'finished' : `error ${r.error.code} ${r.error.message}`), () => 'killed');
      const [outcome] = await Promise.all([call, killAfter(s, delay)]);
      await s.close().catch(() => undefined);
      tr.runs++;
      await waitQuiet(backend.name, dst.url);
      const n = await countOf(backend.name, dst.url, 'big');
      const state = n === null ? 'nothing' : n === ROWS ? 'whole' : 'partial';
      outcomes.push(`${outcome}/${state}`);
      if (outcome.startsWith('error')) tr.failures.push(`rep ${rep}: ${outcome}`);
      if (outcome === 'finished' && state !== 'whole') tr.failures.push(`rep ${rep}: finished, and the table holds ${n} rows`);
      if (atomic && state === 'partial') {
        tr.phantomRows += n!;
        tr.failures.push(`rep ${rep}: a killed restore left ${n} of ${ROWS} rows (one transaction was promised)`);
      }
      if (n) {
        // Every row there is the backup's, with its values (the source is the backup's snapshot: nothing writes to it).
        const bad = await foreignRows(backend.name, n);
        if (bad) tr.failures.push(`rep ${rep}: ${bad} rows of the target differ from the backup`);
      }
      if (!atomic && state === 'partial' && rep % 4 === 0) {
        // A restarted server restores it again over the partial table.
        const again = await server(dst.url, refDir);
        const r = await callTool(again.client, 'restore_backup', { database: 'db', backup_path: 'ref.cmx.gz', mode: 'replace' });
        await again.close();
        if (!r.ok || r.data.rows !== ROWS) tr.failures.push(`rep ${rep}: restoring again with replace gave ${JSON.stringify(r.ok ? r.data.rows : r.error)}`);
      }
      await raw(backend.name, dst.url, 'DROP TABLE IF EXISTS big');
    }
    console.error(`[faults] restore killed on ${backend.name} (undisturbed ${took.restore} ms): ${histogram(outcomes)}`);
    expect(tr.failures).toEqual([]);
  }, 300_000);

  /** Rows of the target that are not the source's row of the same id with the same values. */
  async function foreignRows(b: TestBackend['name'], n: number): Promise<number> {
    const expected = (id: string) => `${id} BETWEEN 1 AND ${ROWS} AND n = ${id} * 7`;
    const rows = await raw(b, dst.url, `SELECT count(*) AS n FROM big WHERE ${expected('id')} AND payload = ${b === 'mysql' ? "concat('payload payload payload payload payload payload payload', id)" : "'payload payload payload payload payload payload payload' || id"}`);
    return n - Number(rows[0]!.n);
  }
});
