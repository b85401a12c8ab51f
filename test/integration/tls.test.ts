/**
 * Database TLS (README "Database TLS"): a private PostgreSQL started by the test with
 * ssl=on and a certificate signed by a throw-away CA (openssl), and a pg_hba.conf that
 * rejects unencrypted connections. The server connects with `sslmode=require` and the
 * session is encrypted (pg_stat_ssl); without sslmode the database refuses it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../faults/private-db.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { BACKENDS, PG_URL } from '../support/backends.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
type Json = Record<string, any>;

/** execute_query's rows as objects, whatever the result shape (one place to change). */
function rowsOf(data: Json): Json[] {
  const rows = data.rows as unknown[];
  if (!Array.isArray(data.columns) || rows.every((r) => !Array.isArray(r))) return rows as Json[];
  const names = (data.columns as Array<{ name: string } | string>).map((c) => (typeof c === 'string' ? c : c.name));
  return (rows as unknown[][]).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
}

const root = process.getuid?.() === 0;

describe.skipIf(!root)('PostgreSQL over TLS (a private server with ssl=on; needs root, as CI has)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-tls-pg-'));
  const data = join(dir, 'data');
  let port = 0;
  let h: Harness;
  const asPostgres = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });

  beforeAll(async () => {
    chownSync(dir, uid('postgres'), uid('postgres', '-g'));
    port = await freePort();
    await asPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await asPostgres(['sh', '-c', `cd ${data} && ${shellCerts()}`]);
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n');
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c ssl_ca_file=ca.crt`;
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    const base = `postgres://postgres@127.0.0.1:${port}/postgres`;
    h = await startInProcess({ tls: { url: `${base}?sslmode=require` }, plain: { url: base } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with sslmode=require, and the session is encrypted', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'tls', query: 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()' });
    expect(r.ok ? 'ok' : r.error).toBe('ok');
    const [row] = rowsOf((r as { data: Json }).data);
    expect(row).toMatchObject({ ssl: true });
    expect(String(row!.version)).toMatch(/^TLSv1\.[23]$/);
  });

  it('is refused by the database without TLS, with the reason and no password', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'plain', query: 'SELECT 1 AS x' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(['AUTH_FAILED', 'CONNECTION_FAILED']).toContain(r.error.code);
      expect(r.error.message).toMatch(/no encryption|pg_hba/);
    }
  });
});

function uid(user: string, flag = '-u'): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}

/** A throw-away CA and a server certificate for 127.0.0.1 it signed, made as the postgres user in the data directory (the key must be its own, mode 0600). */
function shellCerts(): string {
  return [
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=codomyrmex-test-ca 2>/dev/null',
    'openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null',
    "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext",
    'openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null',
    'chmod 600 server.key',
  ].join(' && ');
}


describe.runIf(BACKENDS.some((b) => b.name === 'postgres'))('sslmode=require against a server without TLS', () => {
  it('fails to connect, saying so, instead of reporting a lost connection', async () => {
    const h = await startInProcess({ nossl: { url: `${PG_URL}?sslmode=require` } });
    try {
      const r = await callTool(h.client, 'get_connection', { connection: 'nossl' });
      expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_FAILED');
      expect(r.ok ? '' : r.error.message).toMatch(/TLS/);
    } finally {
      await h.close();
    }
  });
});
