/**
 * SQLite plans: EXPLAIN QUERY PLAN, one row per step (`SCAN o`, `SEARCH o USING
 * INDEX i (a=?)`, `USE TEMP B-TREE FOR ORDER BY`). It never runs the statement and
 * names no row counts and no filters, so the catalog gives table sizes and the
 * query's own WHERE gives the filtered columns.
 */
import type { Row, Session } from '../../dialect.js';
import { conditionColumns, tableAliases, whereClause } from '../../performance/conditions.js';
import { sqliteLexer } from './lexer.js';
import { emptyNode, MAX_PLAN_NODES, num, type PlanNode, type PlanReader, type PlanSummary, type TableRef } from '../../performance/plans/types.js';

const ACCESS = /^(SCAN|SEARCH) (\S+)(.*)$/;
const INDEX = /USING (AUTOMATIC )?(?:PARTIAL )?(?:COVERING )?INDEX ?([^\s(]*)|USING (INTEGER PRIMARY KEY|PRIMARY KEY)/;

/** Columns of an index search `(a=? AND b>?)`. */
const searchColumns = (rest: string): string[] => [...(/\((.*)\)\s*$/.exec(rest)?.[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|>|<|IN\b)/g)].map((m) => m[1]);

function nodeOf(detail: string, depth: number, aliases: Map<string, string>): { node: PlanNode; ref: TableRef | null } {
  const m = ACCESS.exec(detail);
  if (!m || m[2] === 'CONSTANT') {
    const node = emptyNode(depth, /^USE TEMP B-TREE/.test(detail) ? 'TEMP B-TREE' : detail.split(' (')[0]);
    return { node, ref: null };
  }
  const [, op, name, rest] = m;
  const index = INDEX.exec(rest);
  const automatic = index?.[1] !== undefined;
  const node = emptyNode(depth, automatic ? 'SEARCH (automatic index)' : op);
  node.index = index ? (automatic ? 'automatic index' : index[2] || index[3] || null) : null;
  node.full_scan = op === 'SCAN' && !index && !/VIRTUAL TABLE/.test(rest);
  // The columns SQLite searches its automatic index by: a plain index serves them.
  if (automatic) node.index_columns = node.filter_columns = searchColumns(rest);
  const table = aliases.get(name.toLowerCase()) ?? name;
  node.table = table;
  return { node, ref: { schema: null, name: table, qualifiers: [name.toLowerCase(), table.toLowerCase()] } };
}

function read(rows: Row[], query: string): PlanSummary {
  const aliases = tableAliases(query, sqliteLexer);
  const depthOf = new Map<number, number>();
  const plan: PlanSummary = { source: 'EXPLAIN QUERY PLAN', analyzed: false, planning_ms: null, execution_ms: null, nodes: [], refs: [] };
  for (const r of rows.slice(0, MAX_PLAN_NODES)) {
    const parent = num(r.parent) ?? 0;
    const depth = parent === 0 ? 0 : (depthOf.get(parent) ?? 0) + 1;
    depthOf.set(num(r.id) ?? 0, depth);
    const { node, ref } = nodeOf(String(r.detail ?? ''), depth, aliases);
    plan.nodes.push(node);
    plan.refs.push(ref);
  }
  return plan;
}

const quoted = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Rows per table: sqlite_stat1 when ANALYZE has filled it, else max(rowid), which
 * costs one index step (an estimate: deleted rows leave gaps). A name that is not a
 * table (a CTE, a subquery) is dropped from its node.
 */
export async function tableRows(s: Session, table: string, hasStat1: boolean): Promise<number | null> {
  if (hasStat1) {
    const [row] = await s.query('SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1', [table]);
    const n = num(String(row?.stat ?? '').split(' ')[0]);
    if (n !== null) return n;
  }
  try {
    const [row] = await s.query(`SELECT max(rowid) AS n FROM ${quoted(table)}`);
    return num(row?.n) ?? 0;
  } catch {
    return null; // WITHOUT ROWID: no cheap estimate
  }
}

async function enrich(s: Session, plan: PlanSummary, query: string): Promise<void> {
  const where = whereClause(query, sqliteLexer);
  const hasStat1 = (await s.query("SELECT 1 AS x FROM sqlite_schema WHERE name = 'sqlite_stat1'")).length > 0;
  const facts = new Map<string, { columns: Set<string>; rows: number | null } | null>();
  for (const [i, node] of plan.nodes.entries()) {
    const ref = plan.refs[i];
    if (!ref) continue;
    if (!facts.has(ref.name)) {
      const columns = (await s.query(`SELECT name FROM pragma_table_info(?)`, [ref.name])).map((r) => String(r.name).toLowerCase());
      facts.set(ref.name, columns.length === 0 ? null : { columns: new Set(columns), rows: await tableRows(s, ref.name, hasStat1) });
    }
    const fact = facts.get(ref.name);
    if (!fact) {
      node.table = null;
      plan.refs[i] = null;
      continue;
    }
    node.table_rows = fact.rows;
    if (node.full_scan && where) {
      const own = (c: string): boolean => fact.columns.has(c.toLowerCase());
      node.filter_columns = conditionColumns(where, sqliteLexer, new Set(ref.qualifiers)).filter(own);
      node.index_columns = conditionColumns(where, sqliteLexer, new Set(ref.qualifiers), true).filter(own);
    }
  }
}

export const sqlitePlans: PlanReader = { read, enrich };
