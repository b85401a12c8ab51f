/**
 * What a backend module gives the connection side of the server (see ../types.ts):
 * its URLs, and what a read-only connection's account could do. Members are
 * primitives on neutral types; config.ts and privileges.ts keep the orchestration.
 */
import type { Dialect } from '../../dialect.js';

/** What a URL says beyond its backend. */
export interface ParsedUrl {
  /** File databases: the file, absolute, or ':memory:'. */
  file?: string;
}

export interface ConnectionSupport {
  /** The URL prefixes this backend answers to, as a person writes them (`postgres://`, `sqlite:`): for messages. */
  readonly schemes: readonly string[];
  /** The URL forms shown in --help, e.g. `postgres://user:pass@host:5432/db`. */
  readonly urlForms: readonly string[];
  /**
   * Checks a URL before any connection (shape, components, query parameters: INVALID_INPUT,
   * never echoing the URL); null when the URL is not this backend's. `baseDir` resolves a
   * relative file.
   */
  parseUrl(url: string, baseDir: string): ParsedUrl | null;
  /**
   * Whether the account behind a read-only connection could write anyway (a catalog read
   * on the open dialect, or the file's mode); null when it cannot be told. Throws as the
   * probe does: the caller treats a failure as unknown.
   */
  canWrite(dialect: Dialect, config: { file?: string; timeoutMs: number }): Promise<boolean | null>;
  /** The read-only warning's words: what can write, and how the operator fixes it. */
  readonly writeWarning: { readonly writable: string; readonly fix: string };
}
