/**
 * postgres: the schema of a portable backup as native DDL (contract/backup.ts NativeDdl).
 * pg_dump --schema-only runs inside the backup's own exported snapshot, split where
 * pg_restore splits it: pre-data (types, sequences, tables without keys, partitions,
 * functions, views) before the rows, post-data (keys in their order, indexes with their
 * methods, foreign keys, triggers, rules) after them; then the sequences' positions and
 * the refresh of materialized views, which a schema-only dump leaves to its data.
 */
import { Writable } from 'node:stream';
import { DbError } from '../../../errors.js';
import { runTool } from '../../backup/tool.js';
import { BOOKKEEPING_SCHEMA, BOOKKEEPING_TABLES } from '../../bookkeeping.js';
import type { Session } from '../../dialect.js';
import type { NativeDdl, NativeDdlJob } from '../contract/backup.js';
import { CLIENT_ENV, libpqEnv } from './native.js';
import { mapScriptLines, withoutPsqlMarkers } from './psql.js';

const TOOL = 'pg_dump';

/** Settings pg_dump makes for its own session that a restore inside ours must not take (its timeouts, the encoding). */
const DROPPED_SETTING = /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|client_encoding) /;

/**
 * The script made to run inside one transaction without leaving anything on the
 * connection: psql's markers dropped, every session setting made local to the transaction.
 */
export function transactionalScript(script: string): string {
  return mapScriptLines(withoutPsqlMarkers(script), (line) => {
    if (DROPPED_SETTING.test(line)) return '';
    if (line.startsWith('SET ')) return `SET LOCAL ${line.slice(4)}`;
    return line.replace(/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/, "SELECT pg_catalog.set_config('search_path', '', true);");
  });
}

async function dumpSection(job: NativeDdlJob, snapshot: string, section: 'pre-data' | 'post-data'): Promise<string> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk); cb(); } });
  const args = [
    '--schema-only', `--section=${section}`, `--snapshot=${snapshot}`, '--no-owner', '--no-privileges', '--no-tablespaces',
    '--no-security-labels', '--no-publications', '--no-subscriptions', '--exclude-schema', BOOKKEEPING_SCHEMA,
    ...BOOKKEEPING_TABLES.flatMap((t) => ['--exclude-table', `*.${t}`]),
  ];
  try {
    await runTool({ command: TOOL, args, env: libpqEnv(job.url), clientEnv: CLIENT_ENV, stdout }, job.signal);
  } catch (err) {
    if (!(err instanceof DbError) || err.code === 'CANCELLED') throw err;
    const why = err.code === 'UNSUPPORTED' ? `${TOOL} is not on PATH` : err.message;
    throw new DbError('UNSUPPORTED', `a portable backup of a whole PostgreSQL database carries its schema as ${TOOL} writes it (types, sequences, indexes, views, routines, triggers): ${why}. Name the tables to back up only their portable schema`, { ...err.details, tool: TOOL });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A qualified name as it stands in pg_dump's text: not followed by more of a name. */
const mentioned = (script: string, name: string): number => {
  const at = script.search(new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w$."])`));
  return at;
};

/** setval() for every sequence the DDL creates (identity ones included), at its position read now. */
async function sequencePositions(s: Session, before: string): Promise<string[]> {
  const rows = await s.query(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND n.nspname <> $1 ORDER BY 1`, [BOOKKEEPING_SCHEMA]);
  const out: string[] = [];
  for (const { name } of rows) {
    const seq = String(name);
    if (mentioned(before, seq) < 0) continue;
    const [v] = await s.query(`SELECT last_value::text AS v, is_called FROM ${seq}`);
    out.push(`SELECT pg_catalog.setval(${quoteLiteral(seq)}, ${String(v.v)}, ${v.is_called ? 'true' : 'false'});`);
  }
  return out;
}

/** REFRESH of every populated materialized view the DDL creates, in the order pg_dump creates them (dependencies first). */
async function refreshes(s: Session, before: string): Promise<string[]> {
  const rows = await s.query(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'm' AND c.relispopulated`);
  return rows.map((r) => ({ name: String(r.name), at: mentioned(before, `CREATE MATERIALIZED VIEW ${String(r.name)}`) }))
    .filter((x) => x.at >= 0).sort((a, b) => a.at - b.at).map((x) => `REFRESH MATERIALIZED VIEW ${x.name};`);
}

const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Reads the native DDL in s, whose transaction is the backup's snapshot. */
export async function readNativeDdl(s: Session, job: NativeDdlJob): Promise<NativeDdl> {
  const [snap] = await s.query('SELECT pg_export_snapshot() AS id');
  const pre = await dumpSection(job, String(snap.id), 'pre-data');
  const post = await dumpSection(job, String(snap.id), 'post-data');
  const version = /^-- Dumped by pg_dump version (\S+)/m.exec(pre)?.[1] ?? 'unknown';
  const before = transactionalScript(pre);
  const finish = [...await sequencePositions(s, before), ...await refreshes(s, before)];
  return {
    backend: 'postgres',
    producer: `${TOOL} ${version}`,
    before_data: before,
    after_data: [transactionalScript(post), ...finish].join('\n'),
  };
}
