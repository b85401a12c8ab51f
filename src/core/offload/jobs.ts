/**
 * What runs off the main thread for a long agent text (offload/index.ts): the same
 * functions the inline path calls, so a long text gets exactly the answer a short one
 * would. Kept apart from the worker entry so tests can call runJob inline and compare.
 */
import { asDbError } from '../../errors.js';
import { lexMysql } from '../backends/mysql/lexer.js';
import { classifyMysql } from '../backends/mysql/classify.js';
import { classifyPostgres, loadPostgresParser } from '../backends/postgres/classify.js';
import { classifySqlite } from '../backends/sqlite/classify.js';
import type { Classification } from '../readonly/types.js';
import { MYSQL_DEFAULT_QUOTING } from '../sql-lexer.js';
import { leadingKeywords, translatePlaceholders, type SqlFlavor } from '../sql.js';

export type Job =
  | { op: 'classify'; backend: SqlFlavor; sql: string }
  | { op: 'bind'; flavor: SqlFlavor; sql: string; params: unknown[] | Record<string, unknown> | undefined };

/**
 * A classification plus, for a long text, what the dialects would otherwise lex the
 * whole text again for: the first keyword (PostgreSQL portals, MySQL transactions) and
 * whether a MySQL text holds a `/*!` comment. Absent for short texts (the inline path
 * stays as it was): leadingKeywordOf / hasConditionalComment compute them then.
 */
export interface Analysis extends Classification {
  leadingKeyword?: string | null;
  conditionalComment?: boolean;
}

export function leadingKeywordOf(a: Analysis, sql: string, flavor: SqlFlavor): string | null {
  return a.leadingKeyword !== undefined ? a.leadingKeyword : (leadingKeywords(sql, flavor, 1)[0] ?? null);
}

export function hasConditionalComment(a: Analysis, sql: string): boolean {
  return a.conditionalComment ?? conditionalIn(sql);
}

const conditionalIn = (sql: string): boolean => lexMysql(sql, MYSQL_DEFAULT_QUOTING).tokens.some((t) => t.kind === 'conditional_comment');

/** What the worker posts back: a value, or an error as DbError.toJSON() gives it. */
export type WorkerAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; details: Record<string, unknown> } };

/** Everything a dialect needs of a long text, in one place (the worker). */
export function analyse(backend: SqlFlavor, sql: string, classify: (sql: string) => Classification): Analysis {
  const c = classify(sql);
  return { ...c, leadingKeyword: leadingKeywords(sql, backend, 1)[0] ?? null, conditionalComment: backend === 'mysql' && conditionalIn(sql) };
}

const CLASSIFIERS: Record<SqlFlavor, (sql: string) => Classification> = {
  postgres: classifyPostgres,
  mysql: classifyMysql,
  sqlite: classifySqlite,
};

export async function runJob(job: Job): Promise<WorkerAnswer> {
  try {
    if (job.op === 'bind') return { ok: true, value: translatePlaceholders(job.sql, job.params, job.flavor) };
    if (job.backend === 'postgres') await loadPostgresParser();
    return { ok: true, value: analyse(job.backend, job.sql, CLASSIFIERS[job.backend]) };
  } catch (err) {
    return { ok: false, error: asDbError(err).toJSON() };
  }
}
