/**
 * What a backend module gives the sql side of the server (see ../types.ts): how its
 * server reads SQL text, and the rules the neutral code in core/sql.ts,
 * core/queries.ts, core/offload/ and core/performance/fingerprint.ts applies with it.
 * Members are primitives on neutral types; the managers keep the orchestration.
 */
import type { Classification } from '../../readonly/types.js';
import type { Lexed, SqlLexer, Token } from '../../sql-lexer.js';

export interface SqlSupport {
  /** How the server reads text into tokens: placeholders, statement splitting, leading keywords and fingerprints all go by it. */
  readonly lexer: SqlLexer;
  /**
   * The tokens of a text as the server runs it, where that differs from `lexer`'s reading
   * (MySQL: the inside of an executable comment `/*! … *\/` is code); `ambiguous` when the
   * reading depends on the server's version, or on settings it cannot read. `settings`: the
   * session settings the text runs under (a backup object's; MySQL's sql_mode decides how
   * quotes end). Used where SQL from a file is checked before it runs (a backup's own DDL).
   * Absent: `lexer`'s tokens are what runs.
   */
  executedTokens?(sql: string, settings?: Record<string, string>): { tokens: Token[]; ambiguous: boolean };
  /** How the agents' `?` and `:name` become the driver's placeholders, and how values bind. */
  readonly placeholders: PlaceholderRules;
  /** Migration scripts may hold `DELIMITER xx` lines (a client command that changes the statement terminator; MySQL). */
  readonly delimiterCommands: boolean;
  /**
   * A migration script as the server should get it: lines only the backend's own client
   * reads are dropped, or refused with INVALID_INPUT (PostgreSQL: psql's `\restrict`
   * markers). Absent: the text goes as it is.
   */
  scriptText?(sql: string): string;
  /**
   * The read-only classifier (readonly/types.ts): one agent statement judged without a
   * database. `lexed`, when given, may be this module's tokens of that text (tokensFor
   * checks): a classifier that reads them saves a pass; the others ignore it.
   */
  classify(sql: string, lexed?: Lexed): Classification;
  /** Loads what classify needs before its first call (PostgreSQL's WASM parser). Absent: nothing to load. */
  loadClassifier?(): Promise<void>;
  /** The per-backend parts of statement fingerprints (performance/fingerprint.ts). */
  readonly fingerprint: FingerprintRules;
}

/** Placeholder translation (core/sql.ts translatePlaceholders) and value binding (core/queries.ts). */
export interface PlaceholderRules {
  /**
   * The driver takes `$1`…`$n`: agent `?` and `:name` are rewritten to them (a repeated
   * name reuses its number), and text already using `$n` passes with an array. False:
   * the driver takes `?` in order (a repeated name repeats its value).
   */
  readonly numbered: boolean;
  /** `?` is also an operator (PostgreSQL's jsonb `?`): it stands for a value only when params is a non-empty array. */
  readonly questionMarkOperator: boolean;
  /** `arr[lo:hi]` is an array slice: a `:` directly inside brackets never starts a `:name`. */
  readonly bracketSlices: boolean;
  /** An array param binds as an array (`= ANY(?)`); false: as JSON text, like an object. */
  readonly arrays: boolean;
}

/** What differs per backend in a fingerprint; the rest (literals to `?`, list collapsing, spacing) is shared. */
export interface FingerprintRules {
  /**
   * The fingerprint in one pass over the text, building no tokens, or null for a text this
   * pass leaves to the lexer path. Must equal the lexer path wherever it answers
   * (test/unit/fingerprint-fast.test.ts).
   */
  fast(text: string): string | null;
  /** A quoted name keeps its case (`"Orders"` is not `orders`, as PostgreSQL folds bare names to lower case); false: names compare without case. */
  readonly caseSensitiveNames: boolean;
}
