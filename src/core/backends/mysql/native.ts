/**
 * mysql: native backups (contract/backup.ts NativeBackup). mariadb-dump (or mysqldump)
 * --single-transaction through gzip, the mariadb (or mysql) client back. The
 * connection goes to the tools as flags, the password as MYSQL_PWD.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { DbError } from '../../../errors.js';
import { firstTool, runTool } from '../../backup/tool.js';
import { mysqlUrlParams } from './url.js';
import { allowInvalidDates, unqualifySequences } from './dump-filter.js';
import type { Session } from '../../dialect.js';
import type { NativeBackup, NativeDump, Quoting } from '../contract/backup.js';
import { mysqlOptionsFromUrl } from './dialect.js';

/** The variables the mariadb and mysql clients read (MYSQL_PWD, MYSQL_HOST …): the server's own stay out. */
const CLIENT_ENV = ['MYSQL', 'MARIADB'];

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

function clientArgs(url: string, command: string): { args: string[]; env: Record<string, string>; database: string } {
  const o = mysqlOptionsFromUrl(url);
  if (!o.database) throw new DbError('INVALID_INPUT', 'format "native" on MySQL needs a database in the connection URL');
  // --no-defaults (first): option files ([client] in my.cnf) would add settings the URL does not have.
  return { args: ['--no-defaults', '-h', o.host, '-P', String(o.port), '-u', o.user, '--default-character-set=utf8mb4', ...tlsArgs(command, url)], env: { MYSQL_PWD: o.password }, database: o.database };
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

/** Whether the database has system-versioned tables (MariaDB): their history rows are part of them. */
async function versioned(s: Session): Promise<boolean> {
  const [row] = await s.query("SELECT count(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SYSTEM VERSIONED'");
  return Number(row?.n ?? 0) > 0;
}

async function dump(job: NativeDump) {
  const { tables, history } = await job.session(async (s) => ({ tables: await job.tables(s), history: await versioned(s) }), { readsOnly: true, catalog: true });
  const command = await firstTool(['mariadb-dump', 'mysqldump']);
  const m = clientArgs(job.url, command);
  await job.progress(0, undefined, `${command} running`);
  const gzip = createGzip({ level: 1 });
  const filter = unqualifySequences(m.database);
  const written = pipeline(filter, gzip, job.file.stream);
  // Awaited after the dump; when the dump fails first, its error is the one to report.
  written.catch(() => undefined);
  // A whole database carries its stored routines and events (triggers come with their tables).
  const scope = job.named?.length ? tables.map((x) => x.table) : ['--routines', '--events'];
  // No LOCK TABLES around the rows: a column whose default takes from a sequence cannot be
  // written under a lock that leaves the sequence out. History rows of system-versioned
  // tables go along (MariaDB 10.11's --dump-history; a tool without it fails rather than drop them).
  const options = ['--single-transaction', '--quick', '--skip-add-locks', ...(history ? ['--dump-history'] : [])];
  try {
    await runTool({ command, args: [...m.args, ...options, m.database, ...scope], env: m.env, clientEnv: CLIENT_ENV, stdout: filter }, job.signal);
  } catch (err) {
    filter.destroy();
    gzip.destroy();
    throw routinePrivilegeError(err);
  }
  await written;
  // mariadb-dump takes its own snapshot: no row counts can be promised for it.
  return { tables: tables.map((x) => ({ name: x.table, rows: null })) };
}

export const native: NativeBackup = {
  format: 'mysqldump-gzip',
  extension: 'sql.gz',
  hashesWhileCopying: false,
  appends: false,
  dump,
  async restore(job) {
    if (job.mode === 'append') throw new DbError('UNSUPPORTED', 'a native MySQL dump recreates its tables: restore it with mode "create" or "replace" (or use a portable backup to append)');
    const command = await firstTool(['mariadb', 'mysql']);
    const m = clientArgs(job.url, command);
    const before = await job.session((s) => objectsOf(s), { readsOnly: true, catalog: true });
    try {
      await runTool({ command, args: [...m.args, m.database], env: m.env, clientEnv: CLIENT_ENV, stdin: createReadStream(job.path).pipe(createGunzip()).pipe(allowInvalidDates()) }, job.signal);
    } catch (err) {
      // The client commits statement by statement: what this restore created goes again.
      await job.session((s) => dropNew(s, before, job.names), { readsOnly: false, catalog: true }).catch(() => undefined);
      throw err;
    }
    return null;
  },
};

/** Tables, views and sequences, routines and events of the database, as `<kind> <name>`. */
async function objectsOf(s: Session): Promise<Set<string>> {
  const rows = await s.query(`SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END AS k, TABLE_NAME AS n
      FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()
    UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
    UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()`);
  return new Set(rows.map((r) => `${String(r.k)} ${String(r.n)}`));
}

/** Drops what is in the database now and was not before (a table's triggers go with it). */
async function dropNew(s: Session, before: Set<string>, f: Quoting): Promise<void> {
  const fresh = [...await objectsOf(s)].filter((o) => !before.has(o));
  if (!fresh.length) return;
  await s.run(['SET foreign_key_checks = 0']);
  try {
    for (const o of fresh) {
      const at = o.indexOf(' ');
      await s.run([`DROP ${o.slice(0, at)} IF EXISTS ${f.quote(o.slice(at + 1))}`]).catch(() => undefined);
    }
  } finally {
    await s.run(['SET foreign_key_checks = 1']);
  }
}
