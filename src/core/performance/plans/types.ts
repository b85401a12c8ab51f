/**
 * One summary of a query plan for every backend: the nodes that touch tables, with
 * estimated and actual rows where the backend reports them, full scans, sorts that
 * spilled to disk and the indexes used. Findings (findings.ts) are read from this.
 */
import type { Row, Session } from '../../dialect.js';

export interface PlanNode {
  /** Nesting depth in the plan, 0 at the top. */
  depth: number;
  /** The backend's own name: `Seq Scan`, `Index Scan`, `Sort` (PostgreSQL); the access type `ALL`, `ref`, `filesort` (MySQL); `SCAN`, `SEARCH`, `TEMP B-TREE` (SQLite). */
  operation: string;
  /** The table read, as the catalog names it (schema-qualified outside PostgreSQL's `public`), or null. */
  table: string | null;
  index: string | null;
  /** Rows the planner expected, per loop (PostgreSQL, MySQL), or null (SQLite does not say). */
  estimated_rows: number | null;
  /** Rows produced per loop when the plan was analysed, else null. */
  actual_rows: number | null;
  loops: number | null;
  /** Time spent in this node and below, all loops, when analysed (MariaDB: in this table only). */
  time_ms: number | null;
  /** Every row of the table is read (a sequential scan, access type ALL, SQLite SCAN without an index). */
  full_scan: boolean;
  /** Columns of this table the node filters on, equality first; [] when none or unknown. */
  filter_columns: string[];
  /** Of filter_columns, those a plain (B-tree) index serves: none compared with another operator (`&&`, `@>`, `->>` …). Index suggestions take these. */
  index_columns: string[];
  /** Rows read and thrown away by the filter, all loops, when analysed (PostgreSQL), else null. */
  rows_removed_by_filter: number | null;
  /** For sorts: true when the sort went to disk, false when it stayed in memory, null when unknown. */
  sort_spilled: boolean | null;
  /** Rows in the whole table (statistics, or counted by an analysed full scan), or null when unknown. */
  table_rows: number | null;
}

/** Where a node's table lives, for catalog lookups; never part of the result. */
export interface TableRef {
  schema: string | null;
  name: string;
  /** Names the query uses for it (its alias, its name), lower-cased. */
  qualifiers: string[];
}

export interface PlanSummary {
  /** The command that produced it, e.g. `EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)`. */
  source: string;
  /** Actual rows and times are present (the statement ran). */
  analyzed: boolean;
  planning_ms: number | null;
  execution_ms: number | null;
  nodes: PlanNode[];
  /** refs[i] is the table of nodes[i], when it has one. */
  refs: Array<TableRef | null>;
}

export interface PlanReader {
  /** The EXPLAIN result rows (one JSON document, or SQLite's plan rows) -> nodes. */
  read(rows: Row[], query: string): PlanSummary;
  /** Adds what the plan lacks from the catalog: table sizes, and SQLite's filter columns. */
  enrich(session: Session, plan: PlanSummary, query: string): Promise<void>;
}

/** What findings (findings.ts) and plan notes (monitor.ts) need of a backend to word their advice in its SQL. */
export interface PlanAdvice {
  /** The character that quotes an identifier: `"`, or a backtick (MySQL). */
  readonly identifierQuote: string;
  /** Key words (lower case): a name spelled like one is quoted in a suggestion, as is any name not all lower-case letters, digits and `_`. */
  readonly keywords?: ReadonlySet<string>;
  /** What a full scan is called, by the plan node's operation (`Seq Scan`: "sequential scan"); others are "full scan". */
  readonly scanWords: Readonly<Record<string, string>>;
  /** The statement that collects a table's statistics, given its name as SQL. */
  analyze(table: string): string;
  /** The setting that bounds a sort's memory, named when a sort spilled to disk. */
  readonly sortMemory: string;
  /** Why a plan asked for with actual rows and times came back with estimates only (the note beside it). */
  readonly estimatesOnly: string;
}

/** Numbers from drivers and JSON documents: bigint strings included; null when absent or not a number. */
export function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Nodes kept per plan: a plan of hundreds of nodes is summarised by its first ones. */
export const MAX_PLAN_NODES = 200;

export function emptyNode(depth: number, operation: string): PlanNode {
  return {
    depth, operation, table: null, index: null, estimated_rows: null, actual_rows: null, loops: null, time_ms: null,
    full_scan: false, filter_columns: [], index_columns: [], rows_removed_by_filter: null, sort_spilled: null, table_rows: null,
  };
}
