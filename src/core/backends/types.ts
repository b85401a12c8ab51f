/**
 * The one interface every backend implements: a folder under src/core/backends/ whose
 * index.ts exports a BackendModule, listed once in ../index.ts. Managers never compare
 * a backend's name: they ask its module (or a capability) instead.
 *
 * Each part is an interface of its own (contract/*.ts) so a backend's folder can be
 * read, and written, one concern at a time. A module's members are primitives on
 * neutral types; heavy code (drivers, parsers) is imported lazily inside them, so
 * loading a module costs what loading its dialect cost before.
 */
import type { Dialect, DialectConfig } from '../dialect.js';
import type { BackupSupport } from './contract/backup.js';
import type { ConnectionSupport } from './contract/connection.js';
import type { MigrationsSupport } from './contract/migrations.js';
import type { PerformanceSupport } from './contract/performance.js';
import type { PromptSupport } from './contract/prompts.js';
import type { SchemaSupport } from './contract/schema.js';
import type { SqlSupport } from './contract/sql.js';

export interface BackendModule<Name extends string = string> {
  /** The backend's name in configuration, results and backup manifests. */
  readonly name: Name;
  /** How a person writes it in a sentence: "PostgreSQL". */
  readonly label: string;
  /** A dialect for one configured connection (its capabilities on it); opens nothing until its first use. */
  createDialect(config: DialectConfig): Dialect;
  /** URLs, their parameters and secrets; privileges and read-only warnings. */
  readonly connection: ConnectionSupport;
  /** The lexer flavour, placeholders, statement splitting and classification. */
  readonly sql: SqlSupport;
  /** Catalog reader, DDL and alter strategy, default values. */
  readonly schema: SchemaSupport;
  /** Bookkeeping tables and history SQL. */
  readonly migrations: MigrationsSupport;
  /** Portable backup SQL, value codecs and native backups. */
  readonly backup: BackupSupport;
  /** Plans, statistics, statement sources and advice. */
  readonly performance: PerformanceSupport;
  /** Catalog reads, DDL and plan advice the prompts give an agent. */
  readonly prompts: PromptSupport;
}
