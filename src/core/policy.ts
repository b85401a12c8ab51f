/**
 * The rules every dialect applies to agent SQL before it reaches a database.
 * Kept in one place so the three backends refuse the same things with the same codes.
 */
import { DbError } from '../errors.js';
import type { ExecOptions, Statement, StatementResult } from './dialect.js';
import type { Classification } from './readonly/types.js';
import { jsonByteLength } from './sql.js';

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

/**
 * The statement a dialect sends: the agent's own, or its EXPLAIN when opts.explain
 * asks (`explainOf` is the dialect's syntax). Called only after the statement itself
 * passed enforceStatementPolicy, so the wrapper explains exactly that one statement.
 * An ANALYZE runs the statement: one that is not a read is analysed only where the
 * work is rolled back.
 */
export function explainWrapped(stmt: Statement, c: Classification, opts: ExecOptions, rolledBack: boolean, explainOf: (text: string, analyze: boolean) => string): Statement {
  if (!opts.explain) return stmt;
  if (opts.explain.analyze && c.readOnlyViolation !== null && !rolledBack) {
    throw new DbError('INTERNAL', 'EXPLAIN ANALYZE of a statement that writes runs only in a transaction that is rolled back');
  }
  return { text: explainOf(stmt.text, opts.explain.analyze), params: stmt.params };
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
    return new DbError('CONNECTION_LOST', 'the connection was lost during COMMIT: the transaction may or may not have been committed; check before retrying', err.details);
  }
  return new DbError('TRANSACTION_FAILED', `COMMIT failed and nothing was committed: ${err.message}`, err.details);
}
