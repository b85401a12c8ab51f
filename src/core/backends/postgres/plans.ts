/**
 * PostgreSQL plans: EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON). VERBOSE is
 * there for each relation's schema; its filters qualify columns by alias.
 */
import { DbError } from '../../../errors.js';
import type { Row, Session } from '../../dialect.js';
import { conditionColumns } from '../../performance/conditions.js';
import { postgresLexer } from './lexer.js';
import { emptyNode, MAX_PLAN_NODES, num, type PlanNode, type PlanReader, type PlanSummary, type TableRef } from '../../performance/plans/types.js';

type PgNode = Record<string, unknown> & { Plans?: PgNode[] };

function tableName(schema: string | null, name: string): string {
  return schema === null || schema === 'public' ? name : `${schema}.${name}`;
}

function nodeOf(n: PgNode, depth: number): { node: PlanNode; ref: TableRef | null } {
  const node = emptyNode(depth, String(n['Node Type'] ?? 'unknown'));
  const loops = num(n['Actual Loops']);
  node.index = typeof n['Index Name'] === 'string' ? n['Index Name'] : null;
  node.estimated_rows = num(n['Plan Rows']);
  node.actual_rows = num(n['Actual Rows']);
  node.loops = loops;
  const total = num(n['Actual Total Time']);
  node.time_ms = total === null ? null : Math.round(total * (loops ?? 1) * 1000) / 1000;
  const removed = num(n['Rows Removed by Filter']);
  node.rows_removed_by_filter = removed === null ? null : removed * (loops ?? 1);
  if (node.operation === 'Sort' || node.operation === 'Incremental Sort') {
    const space = n['Sort Space Type'];
    node.sort_spilled = space === 'Disk' ? true : space === 'Memory' ? false : null;
  }
  const relation = typeof n['Relation Name'] === 'string' ? n['Relation Name'] : null;
  if (relation === null) return { node, ref: null };
  const schema = typeof n.Schema === 'string' ? n.Schema : null;
  const alias = typeof n.Alias === 'string' ? n.Alias : relation;
  const ref = { schema, name: relation, qualifiers: [alias.toLowerCase(), relation.toLowerCase()] };
  node.table = tableName(schema, relation);
  node.full_scan = node.operation === 'Seq Scan';
  if (typeof n.Filter === 'string') {
    node.filter_columns = conditionColumns(n.Filter, postgresLexer, new Set(ref.qualifiers));
    node.index_columns = conditionColumns(n.Filter, postgresLexer, new Set(ref.qualifiers), true);
  }
  // An analysed full scan read every row once per loop: kept or filtered out.
  if (node.full_scan && node.actual_rows !== null) node.table_rows = Math.round((node.actual_rows + (removed ?? 0)) * (loops ?? 1));
  return { node, ref };
}

function read(rows: Row[]): PlanSummary {
  let doc = rows[0]?.['QUERY PLAN'];
  if (typeof doc === 'string') doc = JSON.parse(doc);
  const top = Array.isArray(doc) ? (doc[0] as Record<string, unknown>) : undefined;
  if (!top || typeof top.Plan !== 'object') throw new DbError('INTERNAL', 'EXPLAIN returned no JSON plan');
  const analyzed = top['Execution Time'] !== undefined;
  const plan: PlanSummary = {
    source: analyzed ? 'EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)' : 'EXPLAIN (VERBOSE, FORMAT JSON)',
    analyzed, planning_ms: num(top['Planning Time']), execution_ms: num(top['Execution Time']), nodes: [], refs: [],
  };
  const stack: Array<[PgNode, number]> = [[top.Plan as PgNode, 0]];
  while (stack.length > 0 && plan.nodes.length < MAX_PLAN_NODES) {
    const [n, depth] = stack.pop()!;
    const { node, ref } = nodeOf(n, depth);
    plan.nodes.push(node);
    plan.refs.push(ref);
    const children = Array.isArray(n.Plans) ? n.Plans : [];
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], depth + 1]);
  }
  return plan;
}

/**
 * Table sizes from pg_class (reltuples, -1 until the table was first analysed) and
 * the cumulative statistics (n_live_tup). The larger of what is known wins: an
 * analysed scan under a LIMIT may have stopped early.
 */
async function enrich(s: Session, plan: PlanSummary): Promise<void> {
  const refs = plan.refs.filter((r): r is TableRef => r !== null);
  if (refs.length === 0) return;
  const rows = await s.query(
    `select n.nspname as schema, c.relname as name, case when c.reltuples >= 0 then c.reltuples::float8 end as reltuples, st.n_live_tup as live
     from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_stat_all_tables st on st.relid = c.oid
     where c.relname = any($1::text[]) and (n.nspname = any($2::text[]) or pg_table_is_visible(c.oid))`,
    [refs.map((r) => r.name), refs.map((r) => r.schema ?? '')],
  );
  plan.nodes.forEach((node, i) => {
    const ref = plan.refs[i];
    const row = ref && rows.find((r) => r.name === ref.name && (ref.schema === null || r.schema === ref.schema));
    if (!row) return;
    const known = [node.table_rows, num(row.reltuples), num(row.live) || null].filter((v): v is number => v !== null);
    node.table_rows = known.length > 0 ? Math.round(Math.max(...known)) : null;
  });
}

export const postgresPlans: PlanReader = { read: (rows) => read(rows), enrich: (s, plan) => enrich(s, plan) };
