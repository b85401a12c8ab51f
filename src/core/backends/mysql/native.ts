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
import type { NativeBackup, NativeDump } from '../contract/backup.js';
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

async function dump(job: NativeDump) {
  const tables = await job.session((s) => job.tables(s), { readsOnly: true, catalog: true });
  const command = await firstTool(['mariadb-dump', 'mysqldump']);
  const m = clientArgs(job.url, command);
  await job.progress(0, undefined, `${command} running`);
  const gzip = createGzip({ level: 1 });
  const written = pipeline(gzip, job.file.stream);
  // Awaited after the dump; when the dump fails first, its error is the one to report.
  written.catch(() => undefined);
  // A whole database carries its stored routines and events (triggers come with their tables).
  const scope = job.named?.length ? tables.map((x) => x.table) : ['--routines', '--events'];
  try {
    await runTool({ command, args: [...m.args, '--single-transaction', '--quick', m.database, ...scope], env: m.env, clientEnv: CLIENT_ENV, stdout: gzip }, job.signal);
  } catch (err) {
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
    await runTool({ command, args: [...m.args, m.database], env: m.env, clientEnv: CLIENT_ENV, stdin: createReadStream(job.path).pipe(createGunzip()) }, job.signal);
    return null;
  },
};
