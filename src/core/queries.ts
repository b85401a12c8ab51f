/**
 * The query manager: resolves the connection, binds parameters, applies the
 * connection's ceilings and runs through the dialect. Knows nothing of MCP.
 */
import type { ConnectionConfig } from '../config.js';
import type { ServerContext } from '../context.js';
import type { ExecOptions, Statement, StatementResult } from './dialect.js';
import { elapsedSince } from './limits.js';
import { withStatementIndex } from './policy.js';
import { translatePlaceholders, type SqlFlavor } from './sql.js';

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

/** Objects bind as JSON text everywhere; arrays too, except on PostgreSQL where they are arrays (= ANY(?)). */
function bindable(value: unknown, flavor: SqlFlavor): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value) && flavor === 'postgres') return value;
  return JSON.stringify(value);
}

export function bind(query: string, params: Params, flavor: SqlFlavor): Statement {
  const { text, values } = translatePlaceholders(query, params, flavor);
  return { text, params: values.map((v) => bindable(v, flavor)) };
}

/** Per-call values never exceed what the operator configured for the connection. */
function execOptions(config: ConnectionConfig, args: { max_rows?: number; timeout_ms?: number }, signal: AbortSignal): ExecOptions {
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
    + 'narrow it with WHERE, select fewer columns, or page with ORDER BY ... LIMIT/OFFSET (or a keyset condition)';
  return { ...r, notice };
}

export async function runQuery(ctx: ServerContext, args: QueryArgs, signal: AbortSignal): Promise<StatementResult & { connection: string; notice?: string }> {
  const { config, dialect } = await ctx.registry.get(args.connection);
  const stmt = bind(args.query, args.params, dialect.backend);
  const opts = execOptions(config, args, signal);
  const result = await dialect.execute(stmt, opts);
  return { connection: config.name, ...withNotice(result, opts) };
}

export async function runTransaction(ctx: ServerContext, args: TransactionArgs, signal: AbortSignal) {
  const start = performance.now();
  const { config, dialect } = await ctx.registry.get(args.connection);
  const stmts = args.queries.map((q, i) => withStatementIndex(i, () => bind(q.query, q.params, dialect.backend)));
  const opts = execOptions(config, args, signal);
  const results = await dialect.transaction(stmts, opts);
  return {
    connection: config.name,
    committed: !config.read_only,
    results: results.map((r) => withNotice(r, opts)),
    elapsed_ms: elapsedSince(start),
  };
}
