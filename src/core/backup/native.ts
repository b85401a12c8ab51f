/**
 * Native formats (format: "native"): the backend's own tool behind the same manifest
 * and the same tools. PostgreSQL: pg_dump -Fc inside our exported snapshot (so the
 * manifest's row counts are the dump's), pg_restore back. MySQL/MariaDB: mariadb-dump
 * (or mysqldump) --single-transaction through gzip, the mariadb (or mysql) client back.
 * SQLite: a byte copy of the database file frozen in our snapshot, else the online
 * backup API in one step inside it (Session.file),
 * restored by writing the file over an empty database (backends/sqlite/backup-file.ts), else by
 * copying tables from the attached file.
 * Passwords go through the environment (PGPASSWORD, MYSQL_PWD), never argv. A native
 * backup restores only into its own backend.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import { mysqlUrlParams } from '../backends/mysql/url.js';
import { postgresUrlParams } from '../backends/postgres/url.js';
import type { Backend, Session } from '../dialect.js';
import { mysqlOptionsFromUrl } from '../backends/mysql/dialect.js';
import { qualified } from '../schema/ddl.js';
import { readTables } from '../schema/introspect.js';
import { readContext, readTable, type Target } from '../schema/manager.js';
import type { Table } from '../schema/model.js';
import { BACKUP_TIMEOUT_MS, pickTables, publishBackup, sourceOf, type CreateArgs, type Progress } from './create.js';
import { hashFile } from './format.js';
import type { Manifest } from './manifest.js';
import { pendingFile, type PendingFile } from './paths.js';
import { copyImage, writeOverEmpty } from '../backends/sqlite/backup-file.js';
import { countSql } from './sql.js';

const NATIVE_FORMATS: Record<Backend, string> = { postgres: 'pg_dump-custom', mysql: 'mysqldump-gzip', sqlite: 'sqlite-database' };

interface Tool {
  command: string;
  args: string[];
  env: Record<string, string>;
  stdin?: Readable;
  stdout?: Writable;
}

/** Runs a tool; its stderr (cut) becomes the error's message, never its argv or env. */
async function run(tool: Tool, signal: AbortSignal): Promise<void> {
  const child = spawn(tool.command, tool.args, { env: { ...withoutClientEnv(process.env), ...tool.env }, stdio: [tool.stdin ? 'pipe' : 'ignore', tool.stdout ? 'pipe' : 'ignore', 'pipe'], signal });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4000) stderr += d.toString('utf8'); });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    await Promise.all([
      tool.stdin && child.stdin ? pipeline(tool.stdin, child.stdin) : null,
      tool.stdout && child.stdout ? pipeline(child.stdout, tool.stdout) : null,
      exited.then((code) => {
        if (code !== 0) throw new DbError('INTERNAL', `${tool.command} failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`, { tool: tool.command, exit_code: code });
      }),
    ]);
  } catch (err) {
    if (signal.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DbError('UNSUPPORTED', `${tool.command} is not on PATH: format "native" needs it`, { tool: tool.command });
    throw err;
  }
}

/**
 * The server's own PG* and MYSQL* variables stay out of the tools' environment: libpq
 * reads PGOPTIONS (`-c setting=…`), PGSERVICE, PGSSLMODE …, and the connection is the URL's.
 */
function withoutClientEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(PG|MYSQL|MARIADB)/i.test(k)));
}

/** The URL's accepted parameters (already checked, SPEC §2) as libpq variables. */
const PG_PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY',
  sslnegotiation: 'PGSSLNEGOTIATION', connect_timeout: 'PGCONNECT_TIMEOUT', target_session_attrs: 'PGTARGETSESSIONATTRS',
};

function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: u.hostname || '127.0.0.1', PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: decodeURIComponent(u.pathname.slice(1) || u.username || 'postgres'),
  };
  for (const [name, value] of postgresUrlParams(url)) env[PG_PARAM_ENV[name]] = value;
  return env;
}

/**
 * The URL's TLS parameters as client flags. MariaDB's clients have no --ssl-mode: REQUIRED is
 * --ssl, VERIFY_* adds --ssl-verify-server-cert; MySQL's take --ssl-mode as it is.
 */
function tlsArgs(command: string, url: string): string[] {
  const p = mysqlUrlParams(url);
  const files = ['ssl-ca', 'ssl-cert', 'ssl-key'].filter((k) => p.has(k)).map((k) => `--${k}=${p.get(k)}`);
  const mode = p.get('ssl-mode')?.toUpperCase() ?? (p.has('ssl-ca') ? 'VERIFY_CA' : 'DISABLED');
  if (mode === 'DISABLED') return [];
  if (!command.startsWith('mariadb')) return [`--ssl-mode=${mode}`, ...files];
  return ['--ssl', ...(mode === 'REQUIRED' ? [] : ['--ssl-verify-server-cert']), ...files];
}

function mysqlArgs(url: string, command: string): { args: string[]; env: Record<string, string>; database: string } {
  const o = mysqlOptionsFromUrl(url);
  if (!o.database) throw new DbError('INVALID_INPUT', 'format "native" on MySQL needs a database in the connection URL');
  // --no-defaults (first): option files ([client] in my.cnf) would add settings the URL does not have.
  return { args: ['--no-defaults', '-h', o.host, '-P', String(o.port), '-u', o.user, '--default-character-set=utf8mb4', ...tlsArgs(command, url)], env: { MYSQL_PWD: o.password }, database: o.database };
}

/** The first of the commands found on PATH (mariadb-dump, else mysqldump ...). */
async function firstTool(names: string[]): Promise<string> {
  for (const n of names) {
    const found = await new Promise<boolean>((resolve) => spawn(n, ['--version'], { stdio: 'ignore' }).once('error', () => resolve(false)).once('close', (c) => resolve(c === 0)));
    if (found) return n;
  }
  throw new DbError('UNSUPPORTED', `none of ${names.join(', ')} is on PATH: format "native" needs one`);
}

async function counts(s: Session, t: Target, tables: Table[], schemaPrefix = ''): Promise<Array<{ name: string; schema?: string; rows: number; sha256: null }>> {
  const out = [];
  for (const table of tables) {
    const [row] = await s.query(schemaPrefix ? `SELECT count(*) AS n FROM ${schemaPrefix}.${t.flavor.quote(table.table)}` : countSql(table, t.flavor));
    out.push({ name: table.table, ...(table.schema !== undefined ? { schema: table.schema } : {}), rows: Number(row?.n ?? 0), sha256: null });
  }
  return out;
}

type Listed = Manifest['tables'];
/** What a dumper wrote: its tables, and the file's size and SHA-256 when it hashed the file while writing it. */
interface Dumped { tables: Listed; digest?: { size: number; sha256: string } }

async function dumpPostgres(t: Target, args: CreateArgs, file: PendingFile, p: Progress): Promise<Dumped> {
  return t.dialect.withSession(async (s) => {
    await s.snapshot();
    const [snap] = await s.query('SELECT pg_export_snapshot() AS id');
    const tables = pickTables(await readTables(s, readContext(t), { internal: Boolean(args.tables?.length) }), args.tables, t.config.name);
    const listed = await counts(s, t, tables);
    const only = args.tables?.length ? tables.flatMap((x) => ['-t', qualified(x, t.flavor)]) : [];
    await p.progress(0, undefined, 'pg_dump running');
    await run({ command: 'pg_dump', args: ['-Fc', `--snapshot=${String(snap.id)}`, '-f', file.tmp, ...only], env: pgEnv(t.config.url) }, p.signal);
    await s.rollback();
    return { tables: listed };
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
}

async function dumpMysql(t: Target, args: CreateArgs, file: PendingFile, p: Progress): Promise<Dumped> {
  const tables = await t.dialect.withSession(async (s) => pickTables(await readTables(s, readContext(t), { internal: Boolean(args.tables?.length) }), args.tables, t.config.name), { signal: p.signal, timeoutMs: t.config.statement_timeout_ms, readsOnly: true });
  const command = await firstTool(['mariadb-dump', 'mysqldump']);
  const m = mysqlArgs(t.config.url, command);
  await p.progress(0, undefined, `${command} running`);
  const gzip = createGzip({ level: 1 });
  const written = pipeline(gzip, file.stream);
  // Awaited after the dump; when the dump fails first, its error is the one to report.
  written.catch(() => undefined);
  // A whole database carries its stored routines and events (triggers come with their tables).
  const scope = args.tables?.length ? tables.map((x) => x.table) : ['--routines', '--events'];
  try {
    await run({ command, args: [...m.args, '--single-transaction', '--quick', m.database, ...scope], env: m.env, stdout: gzip }, p.signal);
  } catch (err) {
    gzip.destroy();
    throw routinePrivilegeError(err);
  }
  await written;
  // mariadb-dump takes its own snapshot: no row counts can be promised for it.
  return { tables: tables.map((x) => ({ name: x.table, rows: null, sha256: null })) };
}

/**
 * mariadb-dump stops when the account may not read a routine's definition (MariaDB shows
 * it only to its definer or to readers of mysql.proc): a backup without it would lose the
 * routine, so the call fails and says how to go on.
 */
function routinePrivilegeError(err: unknown): unknown {
  if (!(err instanceof DbError) || !/insufficient privileges to SHOW CREATE/i.test(err.message)) return err;
  return new DbError(
    'PERMISSION_DENIED',
    'the account cannot read the definition of a stored routine or event, so a native backup would lose it; back up named tables (`tables`), or grant SELECT on mysql.proc (MariaDB) / SHOW_ROUTINE (MySQL 8)',
    { tool: err.details.tool },
  );
}

/**
 * One read snapshot, with the row counts read in it. When the database file itself is
 * that snapshot, frozen until it ends (DatabaseFile.freeze: after a checkpoint, the
 * usual case), its bytes are copied and hashed in one pass here, the hash on this
 * thread while libuv's reads and writes run beside it; otherwise the online backup API
 * in the host copies it (the hash is then a second pass, in createNative).
 */
async function dumpSqlite(t: Target, args: CreateArgs, file: PendingFile, p: Progress): Promise<Dumped> {
  if (args.tables?.length) throw new DbError('INVALID_INPUT', 'a native SQLite backup copies the whole database: leave out `tables` (or use format "portable")', { field: 'tables' });
  return t.dialect.withSession(async (s) => {
    if (!s.file) throw new DbError('UNSUPPORTED', 'an in-memory SQLite database has no file to back up natively: use format "portable"');
    await s.file.checkpoint();
    await s.snapshot();
    const tables = await readTables(s, readContext(t), {});
    const quoted = tables.map((x) => t.flavor.quote(x.table));
    const frozen = await s.file.freeze(quoted, p.signal);
    await p.progress(0, frozen.image?.bytes, frozen.image ? 'copying the database file' : 'SQLite online backup running');
    const image = frozen.image;
    const digest = image
      ? await copyImage(image, file.handle, { signal: p.signal, progress: (bytes) => p.progress(bytes, image.bytes, `copying the database file: ${bytes} of ${image.bytes} bytes`) })
      : undefined;
    // The copy holds only while the host kept its read transaction (and lock): had the
    // host died during it, the session's next host has none, and freeze refuses.
    if (image) await s.file.freeze([], p.signal);
    const rows = frozen.image ? frozen.rows : await s.file.backup(file.tmp, quoted, p.signal);
    await s.rollback();
    return { tables: tables.map((x, i) => ({ name: x.table, rows: rows[i], sha256: null })), digest };
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
}

const DUMPERS: Record<Backend, (t: Target, args: CreateArgs, file: PendingFile, p: Progress) => Promise<Dumped>> = {
  postgres: dumpPostgres, mysql: dumpMysql, sqlite: dumpSqlite,
};

export async function createNative(_ctx: ServerContext, t: Target, realDir: string, name: string, args: CreateArgs, p: Progress): Promise<Manifest> {
  const file = await pendingFile(realDir, name);
  const createdAt = new Date().toISOString();
  try {
    const { tables, digest } = await DUMPERS[t.dialect.backend](t, args, file, p);
    const { size, sha256 } = digest ?? await hashFile(file.tmp, p.signal);
    const known = tables.every((x) => x.rows !== null);
    const manifest: Manifest = {
      manifest_version: 1, file: name, format: 'native', native_format: NATIVE_FORMATS[t.dialect.backend], size, sha256,
      created_at: createdAt, completed_at: new Date().toISOString(), source: sourceOf(t), tables,
      rows: known ? tables.reduce((a, x) => a + (x.rows ?? 0), 0) : null,
    };
    await publishBackup(realDir, file, manifest);
    return manifest;
  } finally {
    await file.discard();
    // SQLite's journal of the copy, left only if the host was killed mid-backup.
    await rm(`${file.tmp}-journal`, { force: true });
  }
}

// ------------------------------------------------------------------ restore

/** Row counts a restorer read itself (SQLite's whole-file restore); null: counted afterwards. */
type Counted = Array<{ name: string; rows: number }>;

/** Large enough to map a whole database (SQLite's mmap_size ceiling here). */
const MMAP_BYTES = 0x7fff0000;

interface Verified { realDir: string; name: string; path: string; manifest: Manifest; verify(): Promise<void> }

/** SQLite checks the file's SHA-256 while it copies it (when it can: restoreSqlite); the others before anything. */
const HASHES_WHILE_COPYING: Record<Backend, boolean> = { postgres: false, mysql: false, sqlite: true };

type Mode = 'create' | 'replace' | 'append';

async function existing(t: Target, m: Manifest, p: Progress): Promise<string[]> {
  return t.dialect.withSession(async (s) => {
    const found: string[] = [];
    for (const x of m.tables) if (await readTable(t, s, x.name, x.schema)) found.push(x.name);
    return found;
  }, { signal: p.signal, timeoutMs: t.config.statement_timeout_ms, readsOnly: true });
}

async function restorePostgres(t: Target, b: Verified, mode: Mode, p: Progress): Promise<null> {
  const byMode = { create: [], replace: ['--clean', '--if-exists'], append: ['--data-only'] }[mode];
  const env = pgEnv(t.config.url);
  await run({ command: 'pg_restore', args: ['--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', ...byMode, '-d', env.PGDATABASE, b.path], env }, p.signal);
  return null;
}

async function restoreMysql(t: Target, b: Verified, mode: Mode, p: Progress): Promise<null> {
  if (mode === 'append') throw new DbError('UNSUPPORTED', 'a native MySQL dump recreates its tables: restore it with mode "create" or "replace" (or use a portable backup to append)');
  const command = await firstTool(['mariadb', 'mysql']);
  const m = mysqlArgs(t.config.url, command);
  await run({ command, args: [...m.args, m.database], env: m.env, stdin: createReadStream(b.path).pipe(createGunzip()) }, p.signal);
  return null;
}

/**
 * Into an empty database that no other connection has open (the usual target of a
 * restore): the file itself, verified while it is written (backends/sqlite/backup-file.ts). Otherwise
 * (append, tables in the target, other connections): table by table.
 */
async function restoreSqlite(t: Target, b: Verified, mode: Mode, p: Progress): Promise<Counted | null> {
  const counted = mode !== 'append' ? await restoreWholeFile(t, b, p) : null;
  if (counted) return counted;
  await b.verify();
  await copyTables(t, b, mode, p);
  return null;
}

/** The row counts when the backup was written over the (empty, locked) target; null when it could not be, with nothing changed. */
async function restoreWholeFile(t: Target, b: Verified, p: Progress): Promise<Counted | null> {
  return t.dialect.withSession(async (s) => {
    if (!s.file) return null;
    const target = await s.file.takeOver();
    if ('reason' in target) return null;
    let written: boolean;
    try {
      const size = b.manifest.size;
      await p.progress(0, size, 'writing the database file');
      written = await writeOverEmpty(b.path, b.manifest, target, { signal: p.signal, progress: (bytes) => p.progress(bytes, size, `writing the database file: ${bytes} of ${size} bytes`) });
    } finally {
      await s.file.release();
    }
    if (!written) return null;
    // Counted on the fresh handle, the file memory-mapped for the count (a read() per page otherwise).
    await s.run([`PRAGMA mmap_size = ${MMAP_BYTES}`]);
    try {
      const out: Counted = [];
      for (const x of b.manifest.tables) {
        const [row] = await s.query(`SELECT count(*) AS n FROM ${t.flavor.quote(x.name)}`);
        out.push({ name: x.name, rows: Number(row?.n) });
      }
      return out;
    } finally {
      await s.run(['PRAGMA mmap_size = 0']);
    }
    // Nothing of ours is left in the session (release opened the file afresh, mmap is
    // reset): the host is kept, so the next call needs no new one.
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
}

/** Copies every table of the backup file (attached) into the database, in one transaction. */
async function copyTables(t: Target, b: Verified, mode: Mode, p: Progress): Promise<void> {
  await t.dialect.withSession(async (s) => {
    await s.run([`ATTACH DATABASE ${t.flavor.string(b.path)} AS cmx_restore_src`]);
    const fk = await s.setForeignKeys(false);
    try {
      const schema = await s.query("SELECT type, name, tbl_name, sql FROM cmx_restore_src.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table' DESC, rowid");
      const tables = schema.filter((x) => x.type === 'table');
      await s.begin();
      for (const x of tables) {
        const q = t.flavor.quote(String(x.name));
        const exists = (await s.query('SELECT 1 FROM main.sqlite_schema WHERE type = \'table\' AND name = ?', [x.name])).length > 0;
        if (exists && mode === 'replace') await s.run([`DROP TABLE main.${q}`]);
        if (!exists || mode === 'replace') {
          await s.run([String(x.sql), ...schema.filter((y) => y.type !== 'table' && y.type !== 'view' && y.tbl_name === x.name).map((y) => String(y.sql))]);
        }
        await s.run([`INSERT INTO main.${q} SELECT * FROM cmx_restore_src.${q}`], undefined, p.signal);
      }
      const seq = await s.query("SELECT 1 FROM cmx_restore_src.sqlite_schema WHERE name = 'sqlite_sequence'");
      if (seq.length && mode !== 'append') {
        await s.run([
          'DELETE FROM main.sqlite_sequence WHERE name IN (SELECT name FROM cmx_restore_src.sqlite_sequence)',
          'INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM cmx_restore_src.sqlite_sequence',
        ]);
      }
      if (await s.foreignKeyViolations()) throw new DbError('CONSTRAINT_VIOLATION', 'the restored rows break a foreign key; nothing was restored');
      await s.commit();
    } finally {
      await s.setForeignKeys(fk).catch(() => undefined);
      await s.run(['DETACH DATABASE cmx_restore_src']).catch(() => undefined);
    }
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS });
}

const RESTORERS: Record<Backend, (t: Target, b: Verified, mode: Mode, p: Progress) => Promise<Counted | null>> = {
  postgres: restorePostgres, mysql: restoreMysql, sqlite: restoreSqlite,
};

export async function restoreNative(_ctx: ServerContext, t: Target, b: Verified, mode: Mode, p: Progress) {
  const started = performance.now();
  const m = b.manifest;
  if (m.source.backend !== t.dialect.backend) {
    throw new DbError('UNSUPPORTED', `${b.name} is a native ${m.source.backend} backup; it restores only into ${m.source.backend} (a portable backup restores anywhere)`, { file: b.name });
  }
  if (!HASHES_WHILE_COPYING[t.dialect.backend]) await b.verify();
  const found = await existing(t, m, p);
  if (mode === 'create' && found.length) {
    throw new DbError('DUPLICATE_OBJECT', `table(s) ${found.map((n) => `"${n}"`).join(', ')} already exist on "${t.config.name}"; use mode "replace"${t.dialect.backend === 'mysql' ? '' : ' or "append"'}, or restore elsewhere`, { tables: found });
  }
  const counted = await RESTORERS[t.dialect.backend](t, b, mode, p);
  const tables = counted?.map((x) => ({ ...x, created: true })) ?? await t.dialect.withSession(async (s) => {
    const out = [];
    for (const x of m.tables) {
      const table = await readTable(t, s, x.name, x.schema);
      const [row] = table ? await s.query(countSql(table, t.flavor)) : [];
      out.push({ name: x.name, ...(x.schema !== undefined ? { schema: x.schema } : {}), rows: row ? Number(row.n) : null, created: mode !== 'append' || !found.includes(x.name) });
    }
    return out;
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
  const short = mode !== 'append' ? tables.find((x, i) => m.tables[i].rows !== null && x.rows !== m.tables[i].rows) : undefined;
  if (short) throw new DbError('INTERNAL', `table ${short.name} holds ${short.rows} rows after the restore; the backup has ${m.tables.find((x) => x.name === short.name)?.rows}`, { table: short.name });
  return {
    connection: t.config.name, backend: t.dialect.backend, backup: b.name, format: 'native' as const, mode, source_backend: m.source.backend,
    tables, rows: tables.every((x) => x.rows !== null) ? tables.reduce((a, x) => a + (x.rows ?? 0), 0) : null, lossy: [], elapsed_ms: Math.round(performance.now() - started),
  };
}
