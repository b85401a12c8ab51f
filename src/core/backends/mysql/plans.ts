/**
 * MySQL and MariaDB plans: MariaDB's ANALYZE FORMAT=JSON (estimates beside r_rows,
 * r_loops and times) or EXPLAIN FORMAT=JSON (estimates only). Both name tables by
 * their alias; the query's FROM clause maps aliases back to tables.
 */
import { DbError } from '../../../errors.js';
import type { Row } from '../../dialect.js';
import { conditionColumns, tableAliases } from '../../performance/conditions.js';
import { mysqlLexer } from './lexer.js';
import { isRecord } from '../../sql.js';
import { emptyNode, MAX_PLAN_NODES, num, type PlanNode, type PlanReader, type PlanSummary, type TableRef } from '../../performance/plans/types.js';

type Json = Record<string, unknown>;

/** MariaDB prints times to the nanosecond: kept to the microsecond, like every other time here. */
function ms(v: unknown): number | null {
  const n = num(v);
  return n === null ? null : Math.round(n * 1000) / 1000;
}

function tableNode(t: Json, depth: number, aliases: Map<string, string>): { node: PlanNode; ref: TableRef | null } {
  const access = String(t.access_type ?? 'unknown');
  const node = emptyNode(depth, access);
  const alias = String(t.table_name ?? '');
  node.index = typeof t.key === 'string' ? t.key : null;
  // MariaDB: rows; MySQL: rows_examined_per_scan. For a full scan that is the table's estimate.
  node.estimated_rows = num(t.rows) ?? num(t.rows_examined_per_scan);
  node.actual_rows = num(t.r_rows);
  node.loops = num(t.r_loops);
  const tableMs = num(t.r_table_time_ms);
  node.time_ms = tableMs === null ? null : ms(tableMs + (num(t.r_other_time_ms) ?? 0));
  // <derived2>, <subquery3>, <union1,2>: not tables.
  if (!alias || alias.startsWith('<')) return { node, ref: null };
  const table = aliases.get(alias.toLowerCase()) ?? alias;
  const ref: TableRef = { schema: null, name: table, qualifiers: [alias.toLowerCase(), table.toLowerCase()] };
  node.table = table;
  node.full_scan = access === 'ALL';
  if (typeof t.attached_condition === 'string') {
    node.filter_columns = conditionColumns(t.attached_condition, mysqlLexer, new Set(ref.qualifiers));
    node.index_columns = conditionColumns(t.attached_condition, mysqlLexer, new Set(ref.qualifiers), true);
  }
  if (node.full_scan) {
    const known = [node.estimated_rows, node.actual_rows].filter((v): v is number => v !== null);
    node.table_rows = known.length > 0 ? Math.round(Math.max(...known)) : null;
  }
  return { node, ref };
}

/** MariaDB `filesort` (r_sort_passes > 0: merge passes through temporary files); MySQL `using_filesort`. */
function sortNode(v: Json, depth: number): PlanNode {
  const node = emptyNode(depth, 'filesort');
  const passes = num(v.r_sort_passes);
  node.loops = num(v.r_loops);
  // An analysed sort without merge passes stayed in memory.
  node.sort_spilled = passes !== null ? passes > 0 : node.loops !== null ? false : null;
  node.actual_rows = num(v.r_output_rows);
  node.time_ms = ms(v.r_total_time_ms);
  return node;
}

function read(rows: Row[], query: string): PlanSummary {
  const row = rows[0] ?? {};
  const analyzed = typeof row.ANALYZE === 'string';
  const text = row.ANALYZE ?? row.EXPLAIN;
  if (typeof text !== 'string') throw new DbError('INTERNAL', 'EXPLAIN returned no JSON plan');
  const doc = JSON.parse(text) as Json;
  const block = isRecord(doc.query_block) ? doc.query_block : {};
  const optimization = isRecord(doc.query_optimization) ? doc.query_optimization : {};
  const plan: PlanSummary = {
    source: analyzed ? 'ANALYZE FORMAT=JSON' : 'EXPLAIN FORMAT=JSON',
    analyzed, planning_ms: ms(optimization.r_total_time_ms), execution_ms: analyzed ? ms(block.r_total_time_ms) : null, nodes: [], refs: [],
  };
  const aliases = tableAliases(query, mysqlLexer);
  // Depth first, in document order; depth counts nested query blocks (subqueries).
  const visit = (v: unknown, depth: number): void => {
    if (plan.nodes.length >= MAX_PLAN_NODES) return;
    if (Array.isArray(v)) return v.forEach((x) => visit(x, depth));
    if (!isRecord(v)) return;
    for (const [key, value] of Object.entries(v)) {
      if (key === 'table' && isRecord(value) && 'table_name' in value) {
        const { node, ref } = tableNode(value, depth, aliases);
        plan.nodes.push(node);
        plan.refs.push(ref);
      } else if (key === 'filesort' && isRecord(value)) {
        plan.nodes.push(sortNode(value, depth));
        plan.refs.push(null);
      } else if (key === 'using_filesort' && value === true) {
        plan.nodes.push(sortNode({}, depth));
        plan.refs.push(null);
      }
      visit(value, key === 'query_block' ? depth + 1 : depth);
    }
  };
  visit(block, 0);
  return plan;
}

export const mysqlPlans: PlanReader = {
  read,
  // The plan already carries each table's row estimate.
  enrich: async () => undefined,
};
