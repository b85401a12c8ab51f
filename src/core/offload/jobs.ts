/**
 * What runs off the main thread for a long agent text (offload/index.ts): the same
 * functions the inline path calls, so a long text gets exactly the answer a short one
 * would. Kept apart from the worker entry so tests can call runJob inline and compare.
 */
import { asDbError } from '../../errors.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import type { Classification } from '../readonly/types.js';
import type { Lexed } from '../sql-lexer.js';
import { leadingKeywords, translatePlaceholders } from '../sql.js';

/** One job on one text; `backend` names the module whose rules apply (worker.ts looks it up). */
export type Job =
  | { op: 'classify'; backend: string; sql: string }
  | { op: 'bind'; backend: string; sql: string; params: unknown[] | Record<string, unknown> | undefined };

/**
 * A classification plus, for a long text, what the dialects would otherwise lex the
 * whole text again for: the first keyword (PostgreSQL portals, MySQL transactions) and
 * whether a MySQL text holds a `/*!` comment. Absent for short texts (the inline path
 * stays as it was): leadingKeywordOf computes the keyword then, and MySQL's classifier
 * answers conditionalComment itself.
 */
export interface Analysis extends Classification {
  leadingKeyword?: string | null;
  conditionalComment?: boolean;
}

/** The statement's first keyword: the worker's answer for a long text, else from `lexed` (when it is this text's) or a lexing now. */
export function leadingKeywordOf(a: Analysis, sql: string, flavor: SqlSupport, lexed?: Lexed): string | null {
  return a.leadingKeyword !== undefined ? a.leadingKeyword : (leadingKeywords(sql, flavor, 1, lexed)[0] ?? null);
}

/** Whether a MySQL text holds an executable comment: its classifier (inline or in the worker) answered it. */
export function hasConditionalComment(a: Analysis): boolean {
  return a.conditionalComment === true;
}

/** What the worker posts back: a value, or an error as DbError.toJSON() gives it. */
export type WorkerAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; details: Record<string, unknown> } };

/** Everything a dialect needs of a long text, in one place (the worker). */
export function analyse(flavor: SqlSupport, sql: string, classify: (sql: string) => Classification): Analysis {
  const c = classify(sql);
  return { ...c, leadingKeyword: leadingKeywords(sql, flavor, 1)[0] ?? null, conditionalComment: c.conditionalComment ?? false };
}

/** Runs a job with the sql part of the module it names (`sqlOf`: backends/index.ts, in the worker). */
export async function runJob(job: Job, sqlOf: (backend: string) => SqlSupport | Promise<SqlSupport>): Promise<WorkerAnswer> {
  try {
    const flavor = await sqlOf(job.backend);
    if (job.op === 'bind') return { ok: true, value: translatePlaceholders(job.sql, job.params, flavor) };
    await flavor.loadClassifier?.();
    return { ok: true, value: analyse(flavor, job.sql, (text) => flavor.classify(text)) };
  } catch (err) {
    return { ok: false, error: asDbError(err).toJSON() };
  }
}
