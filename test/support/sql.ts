/**
 * The SQL utilities of src/core/sql.ts, fingerprint.ts, queries.ts, migrations/files.ts,
 * performance/conditions.ts and schema/sql-text.ts called with a backend's name, as the unit tests list their cases: each looks up the
 * backend's module (module.sql) and calls the real function with it.
 */
import type { ServerContext } from '../../src/context.js';
import { backendModule, type Backend } from '../../src/core/backends/lookup.js';
import type { SqlSupport } from '../../src/core/backends/contract/sql.js';
import type { Statement } from '../../src/core/dialect.js';
import { statementsOf as statementsOfFlavor } from '../../src/core/migrations/files.js';
import * as conditions from '../../src/core/performance/conditions.js';
import * as fp from '../../src/core/performance/fingerprint.js';
import { bind as bindFlavor, bindAgent as bindAgentModule, type Params } from '../../src/core/queries.js';
import * as sqlText from '../../src/core/schema/sql-text.js';
import * as sql from '../../src/core/sql.js';
import type { Token } from '../../src/core/sql-lexer.js';

/** A backend's name, as test cases give it. */
export type SqlFlavor = Backend;

export const flavorOf = (name: SqlFlavor): SqlSupport => backendModule(name).sql;

export const tokenize = (text: string, name: SqlFlavor): Token[] => sql.tokenize(text, flavorOf(name));
export const countStatements = (text: string, name: SqlFlavor): number => sql.countStatements(text, flavorOf(name));
export const leadingKeywords = (text: string, name: SqlFlavor, n: number): string[] => sql.leadingKeywords(text, flavorOf(name), n);
export const splitStatements = (text: string, name: SqlFlavor): string[] => sql.splitStatements(text, flavorOf(name));
export const translatePlaceholders = (text: string, params: Params, name: SqlFlavor): { text: string; values: unknown[] } =>
  sql.translatePlaceholders(text, params, flavorOf(name));
export const statementsOf = (text: string, name: SqlFlavor): string[] => statementsOfFlavor(text, flavorOf(name));

export const fingerprint = (text: string, name: SqlFlavor): string => fp.fingerprint(text, flavorOf(name));
export const fingerprintFast = (text: string, name: SqlFlavor): string | null => fp.fingerprintFast(text, flavorOf(name));
export const fingerprintReference = (text: string, name: SqlFlavor): string => fp.fingerprintReference(text, flavorOf(name));

export const bind = (query: string, params: Params, name: SqlFlavor): Statement => bindFlavor(query, params, flavorOf(name));
export const bindAgent = (ctx: ServerContext, query: string, params: Params, name: SqlFlavor): Promise<Statement> =>
  bindAgentModule(ctx, query, params, backendModule(name));

export const conditionColumns = (expr: string, name: SqlFlavor, qualifiers: ReadonlySet<string>, plainOnly = false): string[] =>
  conditions.conditionColumns(expr, flavorOf(name).lexer, qualifiers, plainOnly);
export const whereClause = (text: string, name: SqlFlavor): string | null => conditions.whereClause(text, flavorOf(name).lexer);
export const tableAliases = (text: string, name: SqlFlavor): Map<string, string> => conditions.tableAliases(text, flavorOf(name).lexer);
export const checkExpression = (expr: string, name: SqlFlavor, field: string): string => sqlText.checkExpression(expr, flavorOf(name).lexer, field);
