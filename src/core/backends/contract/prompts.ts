/**
 * What a backend module gives the prompts (src/prompts/): the backend's own SQL and
 * advice, written for an agent that follows a prompt step by step. Plain text; the
 * prompts choose where it goes and what stands in when a backend has nothing to say.
 */

/** Catalog reads an agent can run through execute_query when get_schema is not exposed; `?` are bound through params. */
export interface CatalogQueries {
  readonly tables: string;
  readonly columns: string;
  readonly foreignKeys: string;
  readonly indexes: string;
}

export interface PromptSupport {
  /** Catalog reads for the schema steps of explore_database, plan_migration and diagnose_slow_query. */
  readonly catalog: CatalogQueries;
  /** plan_migration: how DDL behaves here (transactions, ALTER's limits), so a migration is cut to fit. */
  readonly migrationNote: string;
  /** diagnose_slow_query: how to get and read this backend's plan of a query. */
  readonly plan: string;
  /** diagnose_slow_query without analyze_slow_queries: how to list the slowest statements, or null when only the user can say. */
  readonly findSlow: string | null;
  /** diagnose_slow_query: how to see whether the planner's statistics are stale, or null (then: compare estimates with counts). */
  readonly staleStatistics: string | null;
}
