/**
 * Issue 14, PostgreSQL: the attack corpus (functions that read, write or delete server
 * files, signal sessions, change table pages or dial out, each in many notations) and
 * the witness that checks their effects through a raw connection, the file system and
 * a TCP listener. Used by pg-guard.test.ts.
 */
import { createServer, type Server } from 'node:net';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { freshDatabase, tempDir, type TestBackend } from '../support/backends.js';

export interface Attack {
  fn: string;
  /** Argument expressions; an attack with one argument also gets the attribute notations. */
  args: string[];
  /** Schema the function lives in (extensions: public). */
  schema: string;
}

export interface PgWitness {
  url: string;
  dbName: string;
  dir: string;
  secret: string;
  secretFile: string;
  keepFile: string;
  listenPort: number;
  peerPid: number;
  loOid: number;
  attacks: Attack[];
  /** Effects found since the fixture was made (outbound dials: since the last call); an empty list is the pass. */
  effects(output: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Every notation of one attack: calls, then (one argument) attribute and composite-field selection. */
export function notations(a: Attack, writable: boolean): string[] {
  const call = (name: string): string => `${name}(${a.args.join(', ')})`;
  const uni = `U&"\\${a.fn.charCodeAt(0).toString(16).padStart(4, '0')}${a.fn.slice(1)}"`;
  const c = call(a.fn);
  const out = [
    `SELECT ${c}`,
    `SELECT ${a.schema}.${c}`,
    `SELECT ${call(`"${a.fn}"`)}`,
    `SELECT ${call(uni)}`,
    `SELECT ${c}::text`,
    `SELECT * FROM ${c}`,
    `WITH x AS (SELECT ${c} AS v) SELECT * FROM x`,
    `SELECT * FROM (SELECT ${c} AS v) s`,
    `SELECT l.* FROM (VALUES (1)) t(i), LATERAL (SELECT ${c} AS v) l`,
    `VALUES (${c})`,
    `SELECT 1 ORDER BY ${c}`,
    `SELECT 1 WHERE ${c} IS NOT NULL`,
    `SELECT CASE WHEN true THEN ${c} END`,
  ];
  if (a.args.length === 1) {
    const arg = a.args[0]!;
    out.push(
      `SELECT (${arg}).${a.fn}`,
      `SELECT (${arg})."${a.fn}"`,
      `SELECT (${arg}).${uni}`,
      `SELECT s.a.${a.fn} FROM (SELECT ${arg} AS a) s`,
      `SELECT (s.a).${a.fn} FROM (SELECT ${arg} AS a) s`,
      `WITH x AS (SELECT (${arg}).${a.fn} AS v) SELECT * FROM x`,
      `SELECT l.v FROM (VALUES (1)) t(i), LATERAL (SELECT (${arg}).${a.fn} AS v) l`,
      `SELECT 1 ORDER BY (${arg}).${a.fn}`,
    );
  }
  if (writable) {
    out.push(
      `ALTER TABLE victim ADD CONSTRAINT c_${a.fn} CHECK (length((${c})::text) >= 0)`,
      `CREATE TABLE t_${a.fn} AS SELECT ${c} AS v`,
    );
  }
  return out;
}

export async function createPgWitness(backend: TestBackend, postgres: (url: string, o?: object) => Sql): Promise<PgWitness> {
  const db = await freshDatabase(backend, 'pgsec');
  const dbName = new URL(db.url).pathname.slice(1);
  const dir = tempDir('cmx-pgsec-');
  chmodSync(dir, 0o777);
  const secret = `cmx-secret-${Math.random().toString(36).slice(2, 10)}`;
  // Neither name below appears in the content, nor the content in any SQL: only a successful read can show them.
  const secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, secret, { mode: 0o644 });
  const hiddenName = `listed-${Math.random().toString(36).slice(2, 10)}`;
  writeFileSync(join(dir, hiddenName), '', { mode: 0o644 });
  const keepFile = join(dir, 'keep.txt');
  writeFileSync(keepFile, 'keep', { mode: 0o666 });
  const listing = readdirSync(dir).sort().join('|');

  const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
  for (const ext of ['dblink', 'adminpack', 'pg_surgery', 'file_fdw']) await admin.unsafe(`CREATE EXTENSION ${ext}`);
  await admin.unsafe("CREATE TABLE victim (id int PRIMARY KEY, v text); INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  const [{ oid: loOid }] = await admin.unsafe("SELECT lo_from_bytea(0, 'cmx')::int AS oid");
  const rowsBefore = JSON.stringify(await admin.unsafe('SELECT id, v FROM victim ORDER BY id'));
  const [{ n: loBefore }] = await admin.unsafe('SELECT count(*)::int AS n FROM pg_largeobject_metadata');

  const peer = postgres(db.url, { max: 1, onnotice: () => undefined, idle_timeout: 0 });
  const [{ pid: peerPid }] = await peer.unsafe('SELECT pg_backend_pid() AS pid');
  let dials = 0;
  const listener: Server = createServer((s) => { dials++; s.destroy(); });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const listenPort = (listener.address() as { port: number }).port;

  const lit = (s: string): string => `'${s.replace(/'/g, "''")}'::text`;
  const attacks: Attack[] = [
    { fn: 'pg_read_file', args: [lit(secretFile)], schema: 'pg_catalog' },
    { fn: 'pg_read_binary_file', args: [lit(secretFile)], schema: 'pg_catalog' },
    { fn: 'pg_ls_dir', args: [lit(dir)], schema: 'pg_catalog' },
    { fn: 'pg_stat_file', args: [lit(secretFile)], schema: 'pg_catalog' },
    { fn: 'pg_terminate_backend', args: [String(peerPid)], schema: 'pg_catalog' },
    { fn: 'pg_cancel_backend', args: [String(peerPid)], schema: 'pg_catalog' },
    { fn: 'lo_import', args: [lit(secretFile)], schema: 'pg_catalog' },
    { fn: 'lo_export', args: [String(loOid), lit(join(dir, 'lo_out'))], schema: 'pg_catalog' },
    { fn: 'pg_file_write', args: [lit(join(dir, 'written')), lit('x'), 'false'], schema: 'public' },
    { fn: 'pg_file_unlink', args: [lit(keepFile)], schema: 'public' },
    { fn: 'pg_file_rename', args: [lit(keepFile), lit(join(dir, 'moved'))], schema: 'public' },
    { fn: 'heap_force_kill', args: ["'victim'::regclass", "ARRAY['(0,1)'::tid]"], schema: 'public' },
    { fn: 'heap_force_freeze', args: ["'victim'::regclass", "ARRAY['(0,2)'::tid]"], schema: 'public' },
    { fn: 'dblink_exec', args: [lit(`dbname=${dbName} user=postgres host=127.0.0.1`), lit("INSERT INTO victim VALUES (99, 'dblink')")], schema: 'public' },
    { fn: 'dblink', args: [lit(`host=127.0.0.1 port=${listenPort} dbname=x user=x password=x`), lit('select 1')], schema: 'public' },
    { fn: 'dblink_connect', args: [lit(`host=127.0.0.1 port=${listenPort} dbname=x user=x password=x`)], schema: 'public' },
    { fn: 'dblink_connect_u', args: [lit(`host=127.0.0.1 port=${listenPort} dbname=x user=x`)], schema: 'public' },
  ];

  async function effects(output: string): Promise<string[]> {
    const found: string[] = [];
    if (output.includes(hiddenName)) found.push('directory listing in the output');
    if (output.includes(secret) || output.includes(Buffer.from(secret).toString('hex')) || output.includes(Buffer.from(secret).toString('base64'))) found.push('secret file content in the output');
    if (readdirSync(dir).sort().join('|') !== listing) found.push(`files changed: ${readdirSync(dir).join(', ')}`);
    if (!existsSync(keepFile)) found.push('keep file deleted');
    if (JSON.stringify(await admin.unsafe('SELECT id, v FROM victim ORDER BY id')) !== rowsBefore) found.push('victim rows changed');
    const [{ n }] = await admin.unsafe('SELECT count(*)::int AS n FROM pg_largeobject_metadata');
    if (n !== loBefore) found.push('large objects changed');
    const alive = await peer.unsafe('SELECT 1 AS one').then(() => true, () => false);
    if (!alive) found.push('peer session ended');
    if (dials > 0) found.push(`${dials} outbound connection(s)`);
    dials = 0;
    return found;
  }

  return {
    url: db.url, dbName, dir, secret, secretFile, keepFile, listenPort, peerPid, loOid, attacks, effects,
    async close() {
      await peer.end({ timeout: 1 });
      await admin.end({ timeout: 1 });
      listener.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
