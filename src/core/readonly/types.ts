/**
 * What a dialect needs to know about one agent statement before it runs it.
 * Each backend has its own classifier (backends/<name>/classify.ts, module.sql.classify)
 * returning this shape; they never talk to a database.
 */
export interface Classification {
  /** Non-empty statements found. execute_query refuses anything but 1. */
  count: number;
  /**
   * Null when the statement is on the read-only allow-list; otherwise a short
   * reason an agent can act on ("data-modifying CTE (DELETE)", "function
   * pg_terminate_backend has side effects"). Read-only is an allow-list: anything
   * not recognised as a read is a violation.
   */
  readOnlyViolation: string | null;
  /** BEGIN, COMMIT, ROLLBACK, SAVEPOINT, START TRANSACTION, XA ...: refused by execute_query. */
  transactionControl: boolean;
  /**
   * The statement may leave state on the session that must not leak to the next
   * user of a pooled connection (SET, PREPARE, LISTEN, temporary tables, locks,
   * user variables, USE ...). The dialect then resets or discards the connection.
   * When unsure, true.
   */
  altersSession: boolean;
  /**
   * Set when the statement reaches outside the database in a way no connection may
   * (server files and programs, other sessions, accounts and passwords, server-wide
   * configuration, native code): the reason. Refused in read-write mode too.
   */
  escape?: string;
  /**
   * True when the parser saw a name of the server's own (core/bookkeeping.ts: its schema or
   * tables) in any spelling (PostgreSQL resolves U&"..." escapes and quotes); policy.ts also
   * searches the text itself, on every backend.
   */
  namesBookkeeping?: boolean;
  /** Set when the statement cannot work through these tools at all (COPY ... FROM STDIN): the reason. */
  unsupported?: string;
  /**
   * MySQL: true when the text holds an executable comment (`/*! … *\/`, `/*M! … *\/`),
   * which may commit a transaction implicitly; absent when it holds none, and on the
   * other backends, which have none.
   */
  conditionalComment?: boolean;
}
