/**
 * The rules every dialect applies to agent SQL before it reaches a database: classify,
 * enforce the policy (and the dialect's own refusals), then wrap in EXPLAIN if asked
 * (checkStatement, checkTransaction). Kept in one place so every backend refuses the
 * same things with the same codes.
 */
import { DbError } from '../errors.js';
import { BOOKKEEPING_SCHEMA, BOOKKEEPING_TABLES } from './bookkeeping.js';
import type { ExecOptions, Statement, StatementResult } from './dialect.js';
import type { Classification } from './readonly/types.js';
import type { Lexed } from './sql-lexer.js';
import { jsonByteLength } from './sql.js';

/** Refuses, with the same code on every backend, what no agent statement may be here: one statement, no escape, no transaction control. */
export function enforceStatementPolicy(c: Classification, readOnly: boolean): void {
  // Read-only first: on a read-only connection `COMMIT; DROP TABLE t` is a read-only violation.
  if (readOnly && c.readOnlyViolation !== null) {
    throw new DbError('READ_ONLY_VIOLATION', `this connection is read-only: ${c.readOnlyViolation}`, { reason: c.readOnlyViolation });
  }
  if (c.escape) {
    throw new DbError('PERMISSION_DENIED', `not run on any connection: ${c.escape}`, { reason: c.escape });
  }
  if (c.count === 0) throw new DbError('INVALID_INPUT', 'the query is empty');
  if (c.count > 1) {
    throw new DbError('INVALID_INPUT', `one statement per query, found ${c.count}; use execute_transaction to run several`, { statements: c.count });
  }
  if (c.unsupported) throw new DbError('UNSUPPORTED', c.unsupported);
  if (c.transactionControl) {
    throw new DbError('INVALID_INPUT', 'transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT ...) is not accepted here; use execute_transaction, which is all-or-nothing');
  }
}

/** Our table names as words, and our schema before a dot, in any quoting (", `, [ ]) and any case. */
const OWN_NAME = new RegExp(
  `(?<![\\w$])(?:${BOOKKEEPING_TABLES.join('|')})(?![\\w$])|(?<![\\w$])${BOOKKEEPING_SCHEMA}["\`\\]]?\\s*\\.`,
  'i',
);

/**
 * The server's own tables (migration history, its events, the migration lock's rows) are
 * not the agent's to change: a deleted lock row lets a second server run the migration the
 * first is running. Anything but a read (DML, DDL, TRUNCATE, a function that writes, a view
 * or trigger on them) that names them is refused, on every backend. The names are searched
 * in the whole text (comments and strings too: a function body is a string), and on
 * PostgreSQL also in the parse tree (any quoting or U&"" spelling); a name built at run time
 * (dynamic SQL in a procedural body) is out of reach of both (SPEC §6).
 */
export function refuseBookkeepingWrite(c: Classification, text: string): void {
  if (c.readOnlyViolation === null) return;
  if (c.namesBookkeeping !== true && !OWN_NAME.test(text)) return;
  throw new DbError(
    'PERMISSION_DENIED',
    `the server's own tables (${BOOKKEEPING_TABLES.join(', ')}, schema ${BOOKKEEPING_SCHEMA}) are read-only to agents: the migration tools keep them (repair_migration mends the history)`,
    { reason: 'bookkeeping' },
  );
}

/**
 * The statement a dialect sends: the agent's own, or its EXPLAIN when opts.explain
 * asks (`explainOf` is the dialect's syntax). Called only after the statement itself
 * passed enforceStatementPolicy and the dialect's refusals, so the wrapper explains
 * exactly that one statement. An ANALYZE runs the statement: one that is not a read is
 * analysed only where the work is rolled back.
 */
function explainWrapped(stmt: Statement, c: Classification, opts: ExecOptions, rolledBack: boolean, explainOf: (text: string, analyze: boolean) => string): Statement {
  if (!opts.explain) return stmt;
  if (opts.explain.analyze && c.readOnlyViolation !== null && !rolledBack) {
    throw new DbError('INTERNAL', 'EXPLAIN ANALYZE of a statement that writes runs only in a transaction that is rolled back');
  }
  return { text: explainOf(stmt.text, opts.explain.analyze), params: stmt.params };
}

/** What a dialect brings to the checks every agent statement passes before it is sent. */
export interface StatementChecks<C extends Classification> {
  /** The dialect's classifier (it may parse, so it may throw SYNTAX_ERROR); `lexed`: the text's tokens from binding, if kept. */
  classify(text: string, lexed?: Lexed): Promise<C>;
  /** The connection is read-only: READ_ONLY_VIOLATION for anything not on the allow-list, and every EXPLAIN ANALYZE is rolled back. */
  readOnly: boolean;
  /** The dialect's EXPLAIN of a statement (see explainWrapped). */
  explainOf(text: string, analyze: boolean): string;
  /** The dialect's own refusals, after the shared policy and before the EXPLAIN wrapper. */
  refuse?(c: C, stmt: Statement): void;
}

/** A statement that passed the checks: its classification, and what to send (itself, or its EXPLAIN). */
export interface CheckedStatement<C extends Classification> {
  c: C;
  /** The statement itself (the same object) unless opts.explain asked for its EXPLAIN. */
  sent: Statement;
}

/** execute(): classify, enforce the policy and the dialect's refusals, then wrap in EXPLAIN if asked. */
export async function checkStatement<C extends Classification>(checks: StatementChecks<C>, stmt: Statement, opts: ExecOptions): Promise<CheckedStatement<C>> {
  const c = await checks.classify(stmt.text, stmt.lexed);
  enforceStatementPolicy(c, checks.readOnly);
  refuseBookkeepingWrite(c, stmt.text);
  checks.refuse?.(c, stmt);
  return { c, sent: explainWrapped(stmt, c, opts, checks.readOnly, checks.explainOf) };
}

/**
 * transaction(): every statement is classified first, then each is checked in order, as
 * checkStatement does, with `inTransaction` (the dialect's refusals of what cannot run in
 * a transaction) before the EXPLAIN wrapper. Errors carry statement_index. An ANALYZE of a
 * write is allowed when the transaction is rolled back (read-only, or opts.rollback).
 */
export async function checkTransaction<C extends Classification>(
  checks: StatementChecks<C>,
  stmts: Statement[],
  opts: ExecOptions,
  inTransaction?: (c: C, stmt: Statement) => void,
): Promise<Array<CheckedStatement<C>>> {
  const rolledBack = checks.readOnly || opts.rollback === true;
  const classified: C[] = [];
  for (const [i, s] of stmts.entries()) classified.push(await withStatementIndex(i, () => checks.classify(s.text, s.lexed)));
  return stmts.map((s, i) => withStatementIndex(i, () => {
    const c = classified[i]!;
    enforceStatementPolicy(c, checks.readOnly);
    refuseBookkeepingWrite(c, s.text);
    checks.refuse?.(c, s);
    inTransaction?.(c, s);
    return { c, sent: explainWrapped(s, c, opts, rolledBack, checks.explainOf) };
  }));
}

/** Runs fn and tags any DbError it throws with the index of the failing statement. */
export function withStatementIndex<T>(index: number, fn: () => T): T {
  const tag = (err: unknown): never => {
    const e = err instanceof DbError ? err : new DbError('INTERNAL', err instanceof Error ? err.message : String(err), {}, { cause: err });
    throw e.withDetails({ statement_index: index });
  };
  try {
    const out = fn();
    if (out instanceof Promise) return out.catch(tag) as T;
    return out;
  } catch (err) {
    return tag(err);
  }
}

/**
 * Runs a transaction's statements in order on one connection. They share one byte
 * budget (the whole tool result must stay bounded); a failure carries statement_index.
 */
export async function runInOrder(
  stmts: Statement[],
  opts: ExecOptions,
  runOne: (stmt: Statement, opts: ExecOptions) => Promise<StatementResult>,
): Promise<StatementResult[]> {
  const results: StatementResult[] = [];
  let bytesLeft = opts.maxBytes;
  for (let i = 0; i < stmts.length; i++) {
    const r = await withStatementIndex(i, () => runOne(stmts[i], { ...opts, maxBytes: Math.max(0, bytesLeft) }));
    bytesLeft -= jsonByteLength(r.rows);
    results.push(r);
  }
  return results;
}

/** A failed COMMIT: when the connection died during it, nobody knows whether it committed. */
export function commitError(err: DbError): DbError {
  if (err.code === 'CONNECTION_LOST') {
    return new DbError('CONNECTION_LOST', 'the connection was lost during COMMIT: the transaction may or may not have been committed; check before retrying', { ...err.details, outcome: 'unknown' });
  }
  return new DbError('TRANSACTION_FAILED', `COMMIT failed and nothing was committed: ${err.message}`, err.details);
}
