/**
 * Fault: the database ends the backup's connection mid-read (MariaDB KILL CONNECTION,
 * PostgreSQL pg_terminate_backend), as a database restart or an operator would.
 * Promised: create_backup fails promptly with CONNECTION_LOST (it once waited forever
 * on MariaDB: mysql2 tells a streaming command nothing when its connection dies), no
 * file is left in the backup directory, and the server's next backup works.
 * SQLite has no server to end the connection: not run there.
 */
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { mustCall, startStdio } from '../support/mcp.js';
import { raw } from './kill.js';
import { configFile } from './process.js';
import { record, REPEAT, tally, type Tally } from './tally.js';

type Json = Record<string, any>;
const ROWS = 300_000;
/** A lost connection must surface within this (the call's own timeout is far longer). */
const PROMPT_MS = 15_000;

const SERVERS = BACKENDS.filter((b) => b.name !== 'sqlite');

const FILL: Record<string, string> = {
  postgres: `INSERT INTO big SELECT g, md5(g::text) || md5(g::text) FROM generate_series(1, ${ROWS}) g`,
  mysql: `INSERT INTO big SELECT seq, concat(md5(seq), md5(seq)) FROM seq_1_to_${ROWS}`,
};

/** Ends every session on `url`'s database but the one asking, through the database itself. */
function terminate(backend: TestBackend['name'], url: string): Promise<unknown> {
  const db = url.replace(/^.*\//, '');
  if (backend === 'postgres') return raw(backend, url.replace(/\/[^/]*$/, '/postgres'), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`);
  return (async () => {
    const ids = await raw(backend, url, `SELECT id FROM information_schema.processlist WHERE db = '${db}' AND id <> CONNECTION_ID()`);
    for (const r of ids) await raw(backend, url, `KILL CONNECTION ${Number(r.id)}`).catch(() => undefined);
  })();
}

describe.skipIf(SERVERS.length === 0).each(SERVERS)('fault: backup connection ended by the database on $name', (backend: TestBackend) => {
  const t: Tally = tally('backup connection ended by the database', backend.name);
  const dir = tempDir('cmx-kconn-');
  let db: { url: string; drop(): Promise<void> };
  let server: Awaited<ReturnType<typeof startStdio>> | undefined;

  beforeAll(async () => {
    db = await freshDatabase(backend, 'kconn');
    server = await startStdio(['--config', configFile({ db: { url: db.url } }, { backup_dir: dir })]);
    await mustCall(server.client, 'execute_query', { connection: 'db', query: 'CREATE TABLE big (id integer PRIMARY KEY, p varchar(64))' });
    await mustCall(server.client, 'execute_query', { connection: 'db', query: FILL[backend.name]! });
  });

  afterAll(async () => {
    record(t);
    await server?.close();
    await db?.drop();
  });

  it(`fails with CONNECTION_LOST promptly and leaves no file, ${Math.min(REPEAT, 5)} times`, async () => {
    const c = server!.client;
    for (let rep = 0; rep < Math.min(REPEAT, 5); rep++) {
      let ended: Promise<unknown> | undefined;
      const started = Date.now();
      const r = await c.callTool({ name: 'create_backup', arguments: { database: 'db', output_path: `cut-${rep}.cmx.gz` } }, undefined, {
        timeout: 60_000,
        onprogress: () => { ended ??= terminate(backend.name, db.url); },
      }).then((x) => x as Json, (err: Error) => err);
      await ended;
      const ms = Date.now() - started;
      t.runs++;
      if (r instanceof Error) {
        t.failures.push(`rep ${rep}: no answer after ${ms} ms (${r.message})`);
        if (!server!.transport.pid) t.crashes++;
        continue;
      }
      const body = JSON.parse((r.content as Json[])[0].text);
      // The read can finish before the kill lands: then the backup is simply whole.
      if (r.isError && body.error.code !== 'CONNECTION_LOST') t.failures.push(`rep ${rep}: ${body.error.code} ${body.error.message}`);
      if (ms > PROMPT_MS) t.failures.push(`rep ${rep}: took ${ms} ms`);
      const files = (await fs.readdir(dir)).filter((n) => n.startsWith('cut-') || n.startsWith('.cut-'));
      if (r.isError && files.length) t.failures.push(`rep ${rep}: left ${files.join(', ')}`);
      for (const f of files) await fs.rm(`${dir}/${f}`, { force: true });
      const next = await mustCall(c, 'create_backup', { database: 'db', output_path: `next-${rep}.cmx.gz` }).catch((err: Error) => err);
      if (next instanceof Error) t.failures.push(`rep ${rep}: the next backup failed: ${next.message}`);
      for (const f of await fs.readdir(dir)) await fs.rm(`${dir}/${f}`, { force: true });
    }
    expect(t.failures).toEqual([]);
  }, 300_000);
});
