/**
 * The query manager: resolves the connection, binds parameters, applies the
 * connection's ceilings and runs through the dialect. Knows nothing of MCP.
 * Every agent statement reaches its dialect through executeLogged or
 * transactionLogged, which record it in the query log.
 */
import type { ConnectionConfig } from '../config.js';
import type { ServerContext } from '../context.js';
import { asDbError } from '../errors.js';
import type { SqlSupport } from './backends/contract/sql.js';
import type { BackendModule } from './backends/types.js';
import type { Dialect, ExecOptions, Statement, StatementResult } from './dialect.js';
import { elapsedSince } from './limits.js';
import { withStatementIndex } from './policy.js';
import { lexed, type Lexed } from './sql-lexer.js';
import { translatePlaceholders } from './sql.js';

/** An opened connection: what running a statement needs. */
export interface Target {
  config: ConnectionConfig;
  module: BackendModule;
  dialect: Dialect;
}

export type Params = unknown[] | Record<string, unknown> | undefined;

export interface QueryArgs {
  connection?: string;
  query: string;
  params?: Params;
  max_rows?: number;
  timeout_ms?: number;
}

export interface TransactionArgs {
  connection?: string;
  queries: Array<{ query: string; params?: Params }>;
  max_rows?: number;
  timeout_ms?: number;
}

/** Objects bind as JSON text everywhere; arrays too, except where the driver takes arrays (PostgreSQL: = ANY(?)). */
function bindable(value: unknown, flavor: SqlSupport): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value) && flavor.placeholders.arrays) return value;
  return JSON.stringify(value);
}

export function bind(query: string, params: Params, flavor: SqlSupport): Statement {
  return bindLexed(query, params, flavor, undefined);
}

/**
 * bind() for agent text: a long text is lexed in a worker with a deadline (offload/),
 * so it never holds the event loop; a short one is bound here, as bind() does, and
 * keeps its tokens (Statement.lexed) for the dialect when binding left the text as it was.
 */
export async function bindAgent(ctx: ServerContext, query: string, params: Params, module: BackendModule): Promise<Statement> {
  const flavor = module.sql;
  if (query.length <= ctx.offload.inlineMaxChars) return bindLexed(query, params, flavor, lexed(query, flavor.lexer));
  const { text, values } = await ctx.offload.run<{ text: string; values: unknown[] }>({ op: 'bind', backend: module.name, sql: query, params });
  return { text, params: values.map((v) => bindable(v, flavor)) };
}

function bindLexed(query: string, params: Params, flavor: SqlSupport, tokens: Lexed | undefined): Statement {
  const { text, values } = translatePlaceholders(query, params, flavor, tokens);
  const stmt: Statement = { text, params: values.map((v) => bindable(v, flavor)) };
  // Only the tokens of this very text; not enumerable, so no copy of the statement (a
  // spread, the JSON sent to the SQLite host) carries them.
  if (tokens && text === query) Object.defineProperty(stmt, 'lexed', { value: tokens, enumerable: false });
  return stmt;
}

/** Per-call values never exceed what the operator configured for the connection. */
export function execOptions(config: ConnectionConfig, args: { max_rows?: number; timeout_ms?: number }, signal: AbortSignal): ExecOptions {
  return {
    maxRows: Math.min(args.max_rows ?? config.max_rows, config.max_rows),
    maxBytes: config.max_bytes,
    timeoutMs: Math.min(args.timeout_ms ?? config.statement_timeout_ms, config.statement_timeout_ms),
    signal,
  };
}

function withNotice<T extends StatementResult>(r: T, opts: ExecOptions): T & { notice?: string } {
  if (!r.truncated) return r;
  const notice = `result cut at ${r.rows.length} rows (max_rows ${opts.maxRows}, max_bytes ${opts.maxBytes}); `
    + 'narrow it with WHERE, select fewer columns, or page with ORDER BY ... LIMIT/OFFSET (or a keyset condition)'
    + (r.rolledBack ? '; the statement was stopped there and rolled back: anything it wrote (a function it called) was not kept' : '');
  return { ...r, notice };
}

/**
 * One agent statement through the dialect, recorded in the query log with the time
 * it spent on the connection (or, when it failed, the time until it failed) and its
 * error code. Statements the dialect refuses before running them are recorded too.
 */
export async function executeLogged(ctx: ServerContext, t: Target, stmt: Statement, opts: ExecOptions, tool: string): Promise<StatementResult> {
  const start = performance.now();
  const record = (ms: number, rows: number, error: string | null): void =>
    ctx.queryLog.record(t.config.name, tool, t.module.sql, stmt.text, ms, rows, error);
  try {
    const r = await t.dialect.execute(stmt, opts);
    record(r.elapsed_ms, r.row_count, null);
    return r;
  } catch (err) {
    record(elapsedSince(start), 0, asDbError(err).code);
    throw err;
  }
}

/**
 * Statements all-or-nothing through the dialect, each recorded in the query log.
 * A failure is recorded against the statement it names (details.statement_index);
 * one that belongs to no single statement (pool wait, COMMIT) records nothing.
 */
export async function transactionLogged(ctx: ServerContext, t: Target, stmts: Statement[], opts: ExecOptions, tool: string): Promise<StatementResult[]> {
  const start = performance.now();
  const record = (stmt: Statement, ms: number, rows: number, error: string | null): void =>
    ctx.queryLog.record(t.config.name, tool, t.module.sql, stmt.text, ms, rows, error);
  try {
    const results = await t.dialect.transaction(stmts, opts);
    results.forEach((r, i) => record(stmts[i], r.elapsed_ms, r.row_count, null));
    return results;
  } catch (err) {
    const e = asDbError(err);
    const i = e.details.statement_index;
    if (typeof i === 'number' && stmts[i]) record(stmts[i], elapsedSince(start), 0, e.code);
    throw err;
  }
}

export async function runQuery(ctx: ServerContext, args: QueryArgs, signal: AbortSignal): Promise<StatementResult & { connection: string; notice?: string }> {
  const target = await ctx.registry.get(args.connection);
  const stmt = await bindAgent(ctx, args.query, args.params, target.module);
  const opts = execOptions(target.config, args, signal);
  const result = await executeLogged(ctx, target, stmt, opts, 'execute_query');
  return { connection: target.config.name, ...withNotice(result, opts) };
}

export async function runTransaction(ctx: ServerContext, args: TransactionArgs, signal: AbortSignal) {
  const start = performance.now();
  const target = await ctx.registry.get(args.connection);
  const { config, module } = target;
  const stmts: Statement[] = [];
  for (const [i, q] of args.queries.entries()) stmts.push(await withStatementIndex(i, () => bindAgent(ctx, q.query, q.params, module)));
  const opts = execOptions(config, args, signal);
  const results = await transactionLogged(ctx, target, stmts, opts, 'execute_transaction');
  return {
    connection: config.name,
    committed: !config.read_only,
    results: results.map((r) => withNotice(r, opts)),
    elapsed_ms: elapsedSince(start),
  };
}
