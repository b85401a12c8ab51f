/**
 * Backups of a table big enough to take a while, on every backend: a writer that
 * inserts 100 rows a second during the backup does not leak into it (the restore
 * holds exactly the snapshot's rows); cancelling removes the partial file; a
 * SIGKILLed server leaves no final file and nothing listed as ok.
 */
import type { ChildProcess } from 'node:child_process';
import { promises as fs, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { mustCall, startInProcess, startStdio, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;
const ROWS = 150_000;

/** Fills `big` with ROWS rows in one statement (no round trip per row). */
function fillSql(backend: string): string {
  const payload = "'payload payload payload payload payload payload payload payload'";
  if (backend === 'postgres') return `INSERT INTO big (payload, n) SELECT ${payload}, g FROM generate_series(1, ${ROWS}) g`;
  if (backend === 'mysql') return `INSERT INTO big (payload, n) SELECT ${payload}, seq FROM seq_1_to_${ROWS}`;
  return `INSERT INTO big (payload, n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT ${payload}, x FROM c`;
}

/** Calls create_backup and runs `onStarted` at its first progress notification. */
function backupWithProgress(client: Client, args: Json, onStarted: () => void, signal?: AbortSignal): Promise<unknown> {
  let started = false;
  return client.callTool({ name: 'create_backup', arguments: args }, CallToolResultSchema, {
    signal, timeout: 120_000,
    onprogress: () => { if (!started) { started = true; onStarted(); } },
  });
}

const visible = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => !n.startsWith('.'));

describe.each(BACKENDS)('backups of a busy table on $name', (backend: TestBackend) => {
  let h: Harness;
  let src: { url: string; drop(): Promise<void> };
  let dst: { url: string; drop(): Promise<void> };
  const dir = tempDir('cmx-live-');

  beforeAll(async () => {
    src = await freshDatabase(backend, 'bklive');
    dst = await freshDatabase(backend, 'bklived');
    h = await startInProcess({ src: { url: src.url }, writer: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
    await mustCall(h.client, 'create_table', { connection: 'src', schema: { table: 'big', columns: [{ name: 'id', type: 'bigint', primary_key: true, auto_increment: true }, { name: 'payload', type: 'varchar(200)' }, { name: 'n', type: 'integer' }] } });
    await mustCall(h.client, 'execute_query', { connection: 'src', query: fillSql(backend.name) });
  });

  afterAll(async () => {
    await h?.close();
    await src?.drop();
    await dst?.drop();
  });

  it('restores exactly the snapshot while another connection inserts 100 rows a second', async () => {
    let writing = true;
    let inserted = 0;
    const writer = (async () => {
      while (writing) {
        await mustCall(h.client, 'execute_query', { connection: 'writer', query: "INSERT INTO big (payload, n) VALUES ('live', -1)" });
        inserted++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let during = 0;
    const made = await backupWithProgress(h.client, { database: 'src', output_path: 'live.cmx.gz' }, () => { during = inserted; }) as Json;
    const after = inserted;
    writing = false;
    await writer;
    expect(made.isError).toBeFalsy();
    const rows = (made.structuredContent as Json).rows as number;
    expect(after).toBeGreaterThan(during);
    expect(rows).toBeGreaterThanOrEqual(ROWS);
    expect(rows).toBeLessThan(ROWS + after);
    const restored = await mustCall(h.client, 'restore_backup', { database: 'dst', backup_path: 'live.cmx.gz' });
    expect(restored.rows).toBe(rows);
    const n = await mustCall(h.client, 'execute_query', { connection: 'dst', query: 'SELECT count(*) AS n, max(id) AS m FROM big' });
    expect(Number(rowsOf(n)[0].n)).toBe(rows);
    const total = await mustCall(h.client, 'execute_query', { connection: 'src', query: 'SELECT count(*) AS n FROM big' });
    expect(Number(rowsOf(total)[0].n)).toBe(ROWS + inserted);
  });

  it('cancelling a backup removes the partial file', async () => {
    const controller = new AbortController();
    const call = backupWithProgress(h.client, { database: 'src', output_path: 'cancelled.cmx.gz' }, () => controller.abort(), controller.signal);
    await expect(call).rejects.toThrow();
    for (let i = 0; i < 50 && (await fs.readdir(dir)).some((n) => n.includes('cancelled')); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await fs.readdir(dir)).filter((n) => n.includes('cancelled'))).toEqual([]);
  });

  it('a server SIGKILLed mid-backup leaves no final file and nothing listed as ok', async () => {
    const killDir = tempDir('cmx-kill-');
    const config = join(tempDir('cmx-cfg-'), 'config.json');
    writeFileSync(config, JSON.stringify({ connections: { db: { url: src.url } }, backup_dir: killDir }));
    const server = await startStdio(['--config', config]);
    const pid = server.transport.pid as number;
    const call = backupWithProgress(server.client, { database: 'db', output_path: 'killed.cmx.gz' }, () => process.kill(pid, 'SIGKILL'));
    await expect(call).rejects.toThrow();
    await server.close().catch(() => undefined);
    expect(await visible(killDir)).toEqual([]);
    const again = await startInProcess({ db: { url: src.url } }, { backup_dir: killDir });
    try {
      const list = (await mustCall(again.client, 'list_backups', {})).backups as Json[];
      expect(list.filter((b) => b.status === 'ok')).toEqual([]);
      const r = await again.client.callTool({ name: 'restore_backup', arguments: { database: 'db', backup_path: 'killed.cmx.gz', mode: 'replace' } });
      expect(JSON.parse((r.content as Json[])[0].text).error.code).toBe('UNDEFINED_OBJECT');
    } finally {
      await again.close();
    }
  });
  it('a server SIGTERMed mid-backup cancels it, leaves no file at all and exits 0', async () => {
    const termDir = tempDir('cmx-term-');
    const config = join(tempDir('cmx-cfg-'), 'config.json');
    writeFileSync(config, JSON.stringify({ connections: { db: { url: src.url } }, backup_dir: termDir }));
    const server = await startStdio(['--config', config]);
    const child = (server.transport as unknown as { _process: ChildProcess })._process;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const call = backupWithProgress(server.client, { database: 'db', output_path: 'stopped.cmx.gz' }, () => child.kill('SIGTERM'));
    const outcome = await call.then((r) => JSON.stringify(r), (e: Error) => e.message);
    expect(outcome).toMatch(/CANCELLED|closed/i);
    expect(await exited).toBe(0);
    await server.close().catch(() => undefined);
    // Cancellation removed the partial (its hidden temporary included): nothing is left behind.
    expect(await fs.readdir(termDir)).toEqual([]);
  });
});
