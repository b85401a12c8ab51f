/**
 * d8354a9: pg_restore's session lost at the end of a COPY (PG 15 pg_backup_db.c EndDBCopyMode:
 * PQgetResult after PQputCopyEnd) prints `pg_restore: error: COPY failed for table "t": <libpq's
 * words>`, a context the CONNECTION_LOST pattern does not list. Made deterministic with a TCP
 * proxy that holds pg_restore's first CopyDone message ('c', length 4) and then
 *  - terminate: pg_terminate_backend(the backend), so pg_restore reads the server's FATAL;
 *  - fin: closes pg_restore's socket.
 * Asserted: the restore answers CONNECTION_LOST (its session was lost, nothing else failed).
 * Measured at d8354a9: both answer INTERNAL "pg_restore failed (exit 1): pg_restore: error: COPY
 * failed for table ...: FATAL: terminating connection due to administrator command ..." / "...:
 * server closed the connection unexpectedly" (FINDINGS.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createServer, Socket, type Server } from 'node:net';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

const PG = { name: 'postgres', url: () => 'postgres://postgres@127.0.0.1:5432/test' } as TestBackend;
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

describe('pg_restore session lost at the end of a COPY', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let h: Harness;
  let server: Server;
  let mode: 'off' | 'terminate' | 'fin' = 'off';
  const log: string[] = [];
  beforeAll(async () => {
    db = await freshDatabase(PG, 'rtcend');
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE TABLE big (id int primary key, note text); INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
    server = createServer((client) => {
      const up = new Socket();
      up.connect(5432, '127.0.0.1');
      client.on('data', (chunk: Buffer) => {
        const at = mode === 'off' ? -1 : chunk.indexOf(COPY_DONE);
        if (at < 0) { up.write(chunk); return; }
        const how = mode;
        mode = 'off';
        up.write(chunk.subarray(0, at));
        client.pause();
        void (async () => {
          if (how === 'fin') { client.destroy(); return; }
          const [row] = await admin.unsafe(`SELECT pid FROM pg_stat_activity WHERE client_port = ${up.localPort}`);
          await admin.unsafe(`SELECT pg_terminate_backend(${row.pid})`);
        })();
      });
      up.pipe(client);
      client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
      client.on('close', () => up.destroy()); up.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const dir = tempDir('rtcend-');
    h = await startInProcess({ db: { url: db.url }, viaproxy: { url: db.url.replace(':5432/', `:${port}/`) } }, { backup_dir: dir });
    const b = await callTool(h.client, 'create_backup', { connection: 'db', format: 'native', output_path: 'big.pgdump', tables: ['big'] }, { timeout: 60_000 });
    expect(b.ok, JSON.stringify(b)).toBe(true);
  }, 120_000);
  afterAll(async () => { console.log(log.join('\n')); await h?.close(); server?.close(); await admin?.end(); await db?.drop(); });

  for (const how of ['terminate', 'fin'] as const) {
    it(`${how} at CopyDone: CONNECTION_LOST`, async () => {
      mode = how;
      const r = await callTool(h.client, 'restore_backup', { connection: 'viaproxy', backup_path: 'big.pgdump', mode: 'replace' }, { timeout: 60_000 });
      const tripped = (mode as string) === 'off';
      mode = 'off';
      const said = r.ok ? 'ok' : `${r.error.code} ${JSON.stringify(r.error.message)}`;
      const [{ n }] = await admin.unsafe('SELECT count(*)::int AS n FROM big');
      log.push(`${how}: tripped=${tripped} ${said} | rows after=${n}`);
      expect(tripped).toBe(true);
      expect(said).toMatch(/^CONNECTION_LOST /);
    }, 120_000);
  }
});
