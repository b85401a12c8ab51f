/**
 * Findings: what a plan summary says a person should look at, each concrete (the
 * table, its size, the columns) and each from a fixed rule, so an agent can act on
 * it and a test can check it. Pure: no database, no MCP.
 */
import type { PlanAdvice, PlanNode } from './plans/types.js';

/** A full scan matters from this many rows in the table (estimated or counted). */
export const LARGE_TABLE_ROWS = 10_000;
/** Estimated and actual rows this many times apart (and at least MISMATCH_MIN_ROWS) are reported. */
const MISMATCH_FACTOR = 10;
const MISMATCH_MIN_ROWS = 1000;
/** An index suggestion names at most this many columns. */
const MAX_INDEX_COLUMNS = 3;

export type FindingKind = 'missing_index' | 'no_statistics' | 'automatic_index' | 'estimate_mismatch' | 'sort_spilled';

export interface Finding {
  kind: FindingKind;
  table: string | null;
  table_rows: number | null;
  /** The columns the finding is about (an index's columns, in order). */
  columns: string[];
  message: string;
  /** A statement to consider (never run by this tool), or null. */
  suggestion: string | null;
}

const rowsText = (n: number): string => n.toLocaleString('en-US');

/** A name as SQL: bare when it can be, quoted otherwise (each part of schema.table; a key word such as `with` is quoted). */
function sqlName(name: string, advice: PlanAdvice): string {
  const q = advice.identifierQuote;
  return name.split('.').map((part) => (/^[a-z_][a-z0-9_]*$/.test(part) && !advice.keywords?.has(part) ? part : `${q}${part.replaceAll(q, q + q)}${q}`)).join('.');
}

function createIndex(table: string, columns: string[], advice: PlanAdvice): string {
  const bare = table.split('.').pop() as string;
  const name = `${bare}_${columns.join('_')}_idx`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60).toLowerCase();
  return `CREATE INDEX ${name} ON ${sqlName(table, advice)} (${columns.map((c) => sqlName(c, advice)).join(', ')})`;
}

function scanFinding(n: PlanNode, advice: PlanAdvice): Finding | null {
  if (!n.full_scan || n.table === null || n.filter_columns.length === 0) return null;
  const columns = n.filter_columns.slice(0, MAX_INDEX_COLUMNS);
  // A plain index is suggested on the columns it serves only (not one compared with `&&`, `@>` …).
  const indexed = n.index_columns.slice(0, MAX_INDEX_COLUMNS);
  const scan = Object.hasOwn(advice.scanWords, n.operation) ? advice.scanWords[n.operation] : 'full scan';
  if (n.table_rows === null) {
    return {
      kind: 'no_statistics', table: n.table, table_rows: null, columns,
      message: `${scan} on ${n.table} filtered by ${columns.join(', ')}, and the size of ${n.table} is unknown: collect statistics so the planner (and this check) can judge it`,
      suggestion: advice.analyze(sqlName(n.table, advice)),
    };
  }
  if (n.table_rows < LARGE_TABLE_ROWS || indexed.length === 0) return null;
  return {
    kind: 'missing_index', table: n.table, table_rows: n.table_rows, columns: indexed,
    message: `${scan} on ${n.table} (${rowsText(n.table_rows)} rows) filtered by ${indexed.join(', ')}: an index on ${n.table}(${indexed.join(', ')}) is likely to help`,
    suggestion: createIndex(n.table, indexed, advice),
  };
}

/** SQLite builds a throwaway index for every run of the query: a lasting one does the same work once. */
function automaticIndexFinding(n: PlanNode, advice: PlanAdvice): Finding | null {
  if (n.index !== 'automatic index' || n.table === null || n.index_columns.length === 0) return null;
  const columns = n.index_columns.slice(0, MAX_INDEX_COLUMNS);
  return {
    kind: 'automatic_index', table: n.table, table_rows: n.table_rows, columns,
    message: `SQLite builds a temporary index on ${n.table}(${columns.join(', ')}) every time this query runs: a permanent index is likely to help`,
    suggestion: createIndex(n.table, columns, advice),
  };
}

function mismatchFinding(n: PlanNode): Finding | null {
  if (n.table === null || n.estimated_rows === null || n.actual_rows === null) return null;
  const [lo, hi] = [Math.min(n.estimated_rows, n.actual_rows), Math.max(n.estimated_rows, n.actual_rows)];
  if (hi < MISMATCH_MIN_ROWS || hi < Math.max(lo, 1) * MISMATCH_FACTOR) return null;
  return {
    kind: 'estimate_mismatch', table: n.table, table_rows: n.table_rows, columns: n.filter_columns,
    message: `the planner expected ${rowsText(n.estimated_rows)} rows from ${n.operation} on ${n.table} but got ${rowsText(Math.round(n.actual_rows))}: its statistics for ${n.table} look stale`,
    suggestion: null,
  };
}

function spillFinding(n: PlanNode, advice: PlanAdvice): Finding | null {
  if (n.sort_spilled !== true) return null;
  const memory = advice.sortMemory;
  return {
    kind: 'sort_spilled', table: null, table_rows: null, columns: [],
    message: `a sort spilled to disk (${n.operation}): raise ${memory} for this query, or add an index that returns rows in the ORDER BY order`,
    suggestion: null,
  };
}

/** The findings of a plan's nodes, each once; `advice` is the backend's (module.performance.advice). */
export function findingsOf(nodes: PlanNode[], advice: PlanAdvice): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    for (const f of [scanFinding(n, advice), automaticIndexFinding(n, advice), mismatchFinding(n), spillFinding(n, advice)]) {
      const key = f && `${f.kind}:${f.table}:${f.columns.join(',')}`;
      if (f && key && !seen.has(key)) {
        seen.add(key);
        out.push(f);
      }
    }
  }
  return out;
}
