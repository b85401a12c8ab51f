/**
 * postgres: native backups (contract/backup.ts NativeBackup). pg_dump -Fc inside our
 * exported snapshot (so the manifest's row counts are the dump's), pg_restore back.
 * The connection goes to the tools as libpq variables, the password among them.
 */
import { DbError } from '../../../errors.js';
import { runTool, type Tool } from '../../backup/tool.js';
import { postgresUrlParams } from './url.js';
import type { NativeBackup, Quoting } from '../contract/backup.js';

/** The variables libpq reads (PGOPTIONS, PGSERVICE, PGSSLMODE …): the server's own stay out. */
export const CLIENT_ENV = ['PG'];

/** The URL's accepted parameters (already checked, SPEC §2) as libpq variables. */
const PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY',
  sslnegotiation: 'PGSSLNEGOTIATION', connect_timeout: 'PGCONNECT_TIMEOUT', target_session_attrs: 'PGTARGETSESSIONATTRS',
};

export function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: u.hostname || '127.0.0.1', PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: decodeURIComponent(u.pathname.slice(1) || u.username || 'postgres'),
  };
  // `pooler` is ours, not libpq's: it has no variable.
  for (const [name, value] of postgresUrlParams(url)) if (PARAM_ENV[name]) env[PARAM_ENV[name]] = value;
  return env;
}

type ToolRefusal = 'PERMISSION_DENIED' | 'UNDEFINED_OBJECT' | 'UNSUPPORTED' | 'CONNECTION_FAILED' | 'CONNECTION_LOST';

/** The tool's first error line, and the line after it: pg_dump and pg_restore (--exit-on-error) stop at their first error. */
const FIRST_ERROR = /^pg_(?:dump|restore): error: (.*)$(?:\n(.*))?/m;
/**
 * The tool's context before what libpq or the server said. A table's name is data: the
 * quoted one runs to the line's last `": `, so a name holding `": ` (or libpq's words) is
 * read as part of it.
 */
const CONTEXT = /^(?:query failed|could not execute query|error returned by PQ[A-Za-z]+|COPY failed for table ".*"): /;
/** pg_dump's failed COPY, whose words (libpq's or the server's) are on the next line, DUMP_DETAIL. */
const DUMP_FAILED = /^Dumping the contents of table .* failed: PQget[A-Za-z]+\(\) failed\.\s*$/;
const DUMP_DETAIL = /^pg_dump: detail: Error message from server: (.*)$/;
/** libpq's words for a session that ended under the tool (pg_terminate_backend, a restart, the network), the whole of what it said. */
const LOST = /^(?:FATAL: +terminating connection due to [a-z ]+|server closed the connection unexpectedly|no connection to the server|connection to server was lost)\s*$/;
/** The server refused: the start of its ERROR message (a value it quotes comes later, or inside a name). */
const SERVER_REFUSALS: Array<[RegExp, ToolRefusal]> = [
  [/^ERROR: +(?:permission denied|must be owner|must be superuser|must be a superuser|query would be affected by row-level security|new row violates row-level security)/, 'PERMISSION_DENIED'],
  [/^ERROR: +[a-z][a-z ]* "[^"]*" does not exist\s*$/, 'UNDEFINED_OBJECT'],
];
/** The tool's own words (no server ERROR on the line). */
const TOOL_REFUSALS: Array<[RegExp, ToolRefusal]> = [
  [/server version mismatch|unsupported version|unsupported server version/i, 'UNSUPPORTED'],
  [/^connection to server .* failed|could not connect|could not translate host name/i, 'CONNECTION_FAILED'],
  [/^no matching (?:tables|schemas)/, 'UNDEFINED_OBJECT'],
];

/**
 * Our code for what pg_dump or pg_restore printed (`stderr`, as the tool wrote it), or none:
 * INTERNAL stays. Only the tool's first error line is read (and, for pg_dump's failed COPY,
 * the detail line after it), and only up to a server ERROR, whose message and DETAIL lines
 * may quote the user's values raw, newlines included: a value holding
 * "\npg_restore: error: connection to server was lost" must not pass for the tool's line.
 */
export function pgToolRefusal(stderr: string): ToolRefusal | undefined {
  const first = FIRST_ERROR.exec(stderr);
  if (!first) return undefined;
  let said = first[1]!.replace(CONTEXT, '');
  if (DUMP_FAILED.test(said)) {
    const detail = DUMP_DETAIL.exec(first[2] ?? '');
    if (!detail) return undefined;
    said = detail[1]!;
  }
  if (LOST.test(said)) return 'CONNECTION_LOST';
  if (said.startsWith('ERROR:')) return SERVER_REFUSALS.find(([re]) => re.test(said))?.[1];
  return TOOL_REFUSALS.find(([re]) => re.test(said))?.[1];
}

/** Runs pg_dump or pg_restore; a refusal it reports keeps its meaning (PERMISSION_DENIED …) rather than INTERNAL. */
export async function runPgTool(tool: Tool, signal: AbortSignal): Promise<void> {
  try {
    await runTool(tool, signal);
  } catch (err) {
    if (!(err instanceof DbError) || err.code !== 'INTERNAL') throw err;
    // What the tool printed starts after runTool's "pg_dump failed (exit 1): ", on that line.
    const code = pgToolRefusal(err.message.replace(/^.*? failed \(exit [^)]*\): /, ''));
    throw code ? new DbError(code, err.message, err.details, { cause: err }) : err;
  }
}

/**
 * pg_dump and pg_restore set session settings outside their transactions (statement_timeout,
 * search_path, …): through a transaction pooler those land on server connections other
 * clients then get, and pg_restore --single-transaction's settings on another one.
 */
function refuseThroughTransactionPooler(url: string): void {
  if (postgresUrlParams(url).get('pooler') !== 'transaction') return;
  throw new DbError('UNSUPPORTED', 'native backups (pg_dump, pg_restore) need a session of their own, which a transaction pooler (pooler=transaction) does not give: use format "portable", or a connection straight to the server or through a session pooler', { pooler: 'transaction' });
}

const qualified = (t: { table: string; schema?: string }, f: Quoting): string => (t.schema ? `${f.quote(t.schema)}.` : '') + f.quote(t.table);

export const native: NativeBackup = {
  format: 'pg_dump-custom',
  extension: 'pgdump',
  hashesWhileCopying: false,
  appends: true,

  dump: (job) => job.session(async (s) => {
    refuseThroughTransactionPooler(job.url);
    await s.snapshot();
    const [snap] = await s.query('SELECT pg_export_snapshot() AS id');
    const tables = await job.tables(s);
    const listed = [];
    for (const t of tables) listed.push({ name: t.table, ...(t.schema !== undefined ? { schema: t.schema } : {}), rows: await job.count(s, t) });
    const only = job.named?.length ? tables.flatMap((x) => ['-t', qualified(x, job.names)]) : [];
    await job.progress(0, undefined, 'pg_dump running');
    await runPgTool({ command: 'pg_dump', args: ['-Fc', `--snapshot=${String(snap.id)}`, '-f', job.file.tmp, ...only], env: libpqEnv(job.url), clientEnv: CLIENT_ENV }, job.signal);
    await s.rollback();
    return { tables: listed };
  }, { readsOnly: true }),

  async restore(job) {
    refuseThroughTransactionPooler(job.url);
    const byMode = { create: [], replace: ['--clean', '--if-exists'], append: ['--data-only'] }[job.mode];
    const env = libpqEnv(job.url);
    await runPgTool({ command: 'pg_restore', args: ['--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', ...byMode, '-d', env.PGDATABASE, job.path], env, clientEnv: CLIENT_ENV }, job.signal).catch((err: unknown) => {
      if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST') throw err;
      // One transaction: nothing was applied, unless the session was lost during its COMMIT.
      throw new DbError('CONNECTION_LOST', `${err.message}; pg_restore runs in one transaction, so nothing was restored unless the connection was lost during its COMMIT: check the target before running it again`, { ...err.details, outcome: 'unknown' }, { cause: err });
    });
    return null;
  },
};
