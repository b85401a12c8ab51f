/**
 * monitor_query_performance: times one statement over several runs and reads its
 * plan, through the same paths and checks as execute_query. A statement that is not
 * a read runs (and is analysed) only inside transactions that are rolled back.
 */
import { LIMITS } from '../../config.js';
import type { ServerContext } from '../../context.js';
import { asDbError, DbError } from '../../errors.js';
import type { ExecOptions, Statement, StatementResult } from '../dialect.js';
import { enforceStatementPolicy } from '../policy.js';
import { bindAgent, execOptions, executeLogged, transactionLogged, type Params, type Target } from '../queries.js';
import type { OpenConnection } from '../registry.js';
import { findingsOf, type Finding } from './findings.js';
import type { PlanAdvice, PlanNode, PlanSummary } from './plans/types.js';

const TOOL = 'monitor_query_performance';
export const DEFAULT_RUNS = 5;
export const MAX_RUNS = 100;
/** Plans are read whole (they are not returned as they are): bounded by the largest result a tool may carry. */
const PLAN_MAX_BYTES = LIMITS.max_bytes;

export interface MonitorArgs {
  connection?: string;
  query: string;
  params?: Params;
  runs?: number;
  analyze?: boolean;
  timeout_ms?: number;
}

export interface MonitorCall {
  signal: AbortSignal;
  progress(done: number, total: number, message: string): Promise<void>;
}

export interface PlanResult extends Omit<PlanSummary, 'refs'> {
  /** Why the plan has no actual rows and times although they were asked for, else null. */
  note: string | null;
  indexes_used: string[];
  full_scans: Array<{ table: string; table_rows: number | null }>;
  sorts_spilled: number;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];
}

async function runOnce(ctx: ServerContext, t: Target, stmt: Statement, opts: ExecOptions, write: boolean): Promise<StatementResult> {
  if (!write) return executeLogged(ctx, t, stmt, opts, TOOL);
  try {
    return (await transactionLogged(ctx, t, [stmt], { ...opts, rollback: true }, TOOL))[0];
  } catch (err) {
    if (!(err instanceof DbError) || err.code !== 'UNSUPPORTED') throw err;
    throw new DbError('UNSUPPORTED', `a statement that writes is measured only inside a transaction that is rolled back, and this one cannot be: ${err.message}`, err.details);
  }
}

async function timeRuns(ctx: ServerContext, t: Target, stmt: Statement, opts: ExecOptions, write: boolean, runs: number, call: MonitorCall) {
  const times: number[] = [];
  let last: StatementResult | undefined;
  let truncated = false;
  // Run 0 warms caches and plans; its time is not counted. Results are dropped as they come.
  for (let i = 0; i <= runs; i++) {
    last = await runOnce(ctx, t, stmt, opts, write);
    truncated ||= last.truncated;
    if (i > 0) times.push(last.elapsed_ms);
    await call.progress(i + 1, runs + 2, i === 0 ? 'warm-up run' : `run ${i} of ${runs}`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    timing_ms: { min: sorted[0], median: rank(sorted, 0.5), p95: rank(sorted, 0.95), max: sorted[sorted.length - 1] },
    rows: last?.row_count ?? 0,
    truncated,
  };
}

function noteFor(asked: boolean, plan: PlanSummary, canAnalyze: boolean, advice: PlanAdvice): string | null {
  if (!asked || plan.analyzed) return null;
  if (!canAnalyze) return 'this backend has no EXPLAIN ANALYZE: the plan is what the planner intends, without measured rows or times';
  return advice.estimatesOnly;
}

function resultOf(plan: PlanSummary, note: string | null): PlanResult {
  const nodes: PlanNode[] = plan.nodes;
  return {
    source: plan.source, analyzed: plan.analyzed, planning_ms: plan.planning_ms, execution_ms: plan.execution_ms, nodes,
    note,
    indexes_used: [...new Set(nodes.map((n) => n.index).filter((i): i is string => i !== null))],
    full_scans: nodes.filter((n) => n.full_scan && n.table !== null).map((n) => ({ table: n.table as string, table_rows: n.table_rows })),
    sorts_spilled: nodes.filter((n) => n.sort_spilled === true).length,
  };
}

/**
 * EXPLAIN of the same bound statement (ExecOptions.explain: the dialect wraps the
 * statement it has classified). A plan that cannot be had (a statement EXPLAIN does
 * not take) leaves the timings standing: its error is reported beside them.
 */
async function planOf(ctx: ServerContext, t: OpenConnection, stmt: Statement, opts: ExecOptions, write: boolean, analyze: boolean) {
  const explain: ExecOptions = { ...opts, maxRows: 10_000, maxBytes: PLAN_MAX_BYTES, explain: { analyze } };
  try {
    const r = write && analyze ? (await t.dialect.transaction([stmt], { ...explain, rollback: true }))[0] : await t.dialect.execute(stmt, explain);
    if (r.truncated) throw new DbError('RESULT_TOO_LARGE', `the plan is larger than ${PLAN_MAX_BYTES} bytes`);
    const reader = t.module.performance.plans;
    const plan = reader.read(r.rows, stmt.text);
    await t.dialect.withSession((s) => reader.enrich(s, plan, stmt.text), { signal: opts.signal, timeoutMs: opts.timeoutMs, readsOnly: true });
    return { plan, plan_error: null };
  } catch (err) {
    const e = asDbError(err);
    if (e.code === 'CANCELLED') throw e;
    if (e.code === 'INTERNAL') ctx.logger.warn({ err: e.message }, 'query plan could not be read');
    return { plan: null, plan_error: { code: e.code, message: ctx.redact(e.message) } };
  }
}

export async function monitorQuery(ctx: ServerContext, args: MonitorArgs, call: MonitorCall) {
  const target = await ctx.registry.get(args.connection);
  const { config, dialect } = target;
  const stmt = await bindAgent(ctx, args.query, args.params, target.module);
  // Refusals (read-only, several statements, transaction control) come before anything runs.
  const c = await dialect.classify(stmt.text);
  enforceStatementPolicy(c, config.read_only);
  const write = c.readOnlyViolation !== null;
  const opts = execOptions(config, { timeout_ms: args.timeout_ms }, call.signal);
  const runs = args.runs ?? DEFAULT_RUNS;
  const timing = await timeRuns(ctx, target, stmt, opts, write, runs, call);
  const asked = args.analyze ?? true;
  const { plan, plan_error } = await planOf(ctx, target, stmt, opts, write, asked && dialect.capabilities.explainAnalyze);
  await call.progress(runs + 2, runs + 2, 'plan read');
  const findings: Finding[] = plan ? findingsOf(plan.nodes, target.module.performance.advice) : [];
  return {
    connection: config.name,
    statement: write ? 'write' as const : 'read' as const,
    rolled_back: write,
    runs,
    ...timing,
    plan: plan && resultOf(plan, noteFor(asked, plan, dialect.capabilities.explainAnalyze, target.module.performance.advice)),
    plan_error,
    findings,
  };
}
