/**
 * The SchemaManager: portable schemas generated from models, tables created and
 * altered from them, and read back by introspection. With `record_migration` a
 * change is written as a migration file (up and generated down) and applied by
 * the migration engine, so agents' schema changes stay in history.
 */
import { promises as fs } from 'node:fs';
import type { ConnectionConfig } from '../../config.js';
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import { BACKEND_NAMES, backendModule, type BackendModule } from '../backends/lookup.js';
import type { SchemaFlavor } from '../backends/contract/schema.js';
import type { Dialect, ServerInfo, Session } from '../dialect.js';
import { createMigration, migrationStatus, refuseReadOnly, repairMigration, runMigrations, type Progress } from '../migrations/manager.js';
import { createTableSql, dropTableSql } from './ddl.js';
import { generateTable } from './generate.js';
import { readTables, type ReadContext, type ReadFilter } from './introspect.js';
import { normalizeTable, reportedTable, tableInput, type Table, type TableInput } from './model.js';

export { refuseReadOnly };

export interface Target {
  config: ConnectionConfig;
  module: BackendModule;
  dialect: Dialect;
  info: ServerInfo;
  /** The module's flavour for this server (MariaDB 10.7+ has a uuid type). */
  flavor: SchemaFlavor;
}

export async function target(ctx: ServerContext, connection: string | undefined): Promise<Target> {
  const { config, module, dialect, info } = await ctx.registry.get(connection);
  return { config, module, dialect, info, flavor: module.schema.flavor(module.schema.flavorOptions(info)) };
}

/** Catalog reads: short, and they leave the session as it was. */
export function readSession<T>(t: Target, signal: AbortSignal, fn: (s: Session) => Promise<T>): Promise<T> {
  return t.dialect.withSession(fn, { signal, timeoutMs: t.config.statement_timeout_ms, readsOnly: true });
}

export const readContext = (t: Target): ReadContext => ({ schema: t.module.schema, info: t.info });

export async function readTable(t: Target, s: Session, name: string, schema?: string): Promise<Table | null> {
  const [found] = await readTables(s, readContext(t), { table: name, schema });
  return found ?? null;
}

export interface GetSchemaArgs extends ReadFilter {
  connection?: string;
  limit?: number;
  offset?: number;
}

export async function getSchema(ctx: ServerContext, args: GetSchemaArgs, signal: AbortSignal) {
  const t = await target(ctx, args.connection);
  const tables = await readSession(t, signal, (s) => readTables(s, readContext(t), args));
  if (args.table !== undefined) {
    if (!tables.length) throw new DbError('UNDEFINED_OBJECT', `no table "${args.table}"${args.schema ? ` in schema "${args.schema}"` : ''} on connection "${t.config.name}"`, { table: args.table });
    return { connection: t.config.name, backend: t.config.backend, table: reportedTable(tables[0]) };
  }
  const offset = args.offset ?? 0;
  const limit = args.limit ?? 200;
  const page = tables.slice(offset, offset + limit);
  const next = offset + page.length < tables.length ? offset + page.length : null;
  return { connection: t.config.name, backend: t.config.backend, total: tables.length, tables: page.map(reportedTable), next_offset: next };
}

/** Names only: cheap enough for resource lists and completion. */
export async function tableNames(ctx: ServerContext, connection: string, signal: AbortSignal): Promise<string[]> {
  const t = await target(ctx, connection);
  const tables = await readSession(t, signal, (s) => readTables(s, readContext(t), {}));
  return tables.map((x) => (x.schema && x.schema !== 'public' ? `${x.schema}.${x.table}` : x.table));
}

export interface GenerateArgs {
  model: unknown;
  table?: string;
  connection?: string;
  all_backends?: boolean;
}

/** The portable schema of a model and its DDL; no database is touched beyond learning the backend. */
export async function generateSchema(ctx: ServerContext, args: GenerateArgs) {
  const schema = normalizeTable(tableInput.parse(generateTable(args.model, args.table)));
  const ddl: { [backend: string]: string[] } = {};
  let connection: string | null = null;
  if (args.connection !== undefined || !args.all_backends) {
    const t = await target(ctx, args.connection);
    connection = t.config.name;
    ddl[t.module.name] = createTableSql(schema, t.flavor);
  }
  // Another backend's refusal (a text key on MySQL) is reported beside the others, not for all.
  const ddlErrors: { [backend: string]: string } = {};
  for (const b of args.all_backends ? BACKEND_NAMES : []) {
    if (ddl[b]) continue;
    try {
      ddl[b] = createTableSql(schema, backendModule(b).schema.flavor());
    } catch (err) {
      if (!(err instanceof DbError)) throw err;
      ddlErrors[b] = err.message;
    }
  }
  return { connection, schema, ddl, ...(Object.keys(ddlErrors).length ? { ddl_errors: ddlErrors } : {}) };
}

export interface CreateArgs {
  schema: TableInput;
  connection?: string;
  if_not_exists?: boolean;
  dry_run?: boolean;
  record_migration?: boolean;
}

/**
 * DDL built from agent input (defaults, checks) runs as trusted SQL, so it passes the
 * backend's classifier first, with the policy of agent statements: an escape (a
 * default calling pg_read_file, LOAD_FILE, load_extension ...) is refused on every
 * connection before anything runs. A default runs on every insert and on a table
 * rewrite, a check over every existing row: a dry run would already run them.
 */
export async function refuseEscapes(dialect: Dialect, statements: string[]): Promise<void> {
  for (const [i, text] of statements.entries()) {
    const c = await dialect.classify(text);
    if (c.escape) throw new DbError('PERMISSION_DENIED', `not run on any connection: ${c.escape}`, { reason: c.escape, statement_index: i });
  }
}

/** Runs DDL all-or-nothing where the backend allows; MySQL commits each statement. */
export async function applyDdl(t: Target, s: Session, statements: string[], signal: AbortSignal, keep: boolean): Promise<void> {
  await refuseEscapes(t.dialect, statements);
  if (!t.dialect.capabilities.transactionalDdl) {
    if (keep) await s.run(statements, undefined, signal);
    return;
  }
  await s.begin();
  try {
    await s.run(statements, undefined, signal);
    if (keep) await s.commit();
    else await s.rollback();
  } catch (err) {
    await s.rollback().catch(() => undefined);
    throw err;
  }
}

export const slug = (name: string): string => (name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'table');

export interface Recorded {
  file: string;
  version: string;
}

/**
 * Writes a migration with the up and down DDL and applies it through the engine.
 * Refused up front while other migrations are pending or blocked (they would run
 * first, or block this one); the file is removed again when nothing was applied.
 */
export async function recordMigration(ctx: ServerContext, t: Target, name: string, up: string[], down: string[], p: Progress, directives: string[] = []): Promise<Recorded> {
  const status = await migrationStatus(ctx, t.config.name, p.signal);
  if (status.pending.length || status.problems.length) {
    throw new DbError('MIGRATION_BLOCKED', `record_migration needs a clean migration state; ${status.pending.length} pending and ${status.problems.length} problem(s) on "${t.config.name}": run or repair them first`, { pending: status.pending, problems: status.problems });
  }
  const join = (stmts: string[]): string => `${stmts.join(';\n\n')};\n`;
  // A literal holding a line like "-- migrate:down" would be read as a marker of the file.
  if ([...up, ...down].some((x) => /^[ \t]*--[ \t]*migrate:/im.test(x))) {
    throw new DbError('INVALID_INPUT', 'record_migration cannot write a statement holding a line that starts with "-- migrate:" (in a default or comment); run the change directly', {});
  }
  const created = await createMigration(ctx, { connection: t.config.name, name, up: directives.map((d) => `${d}\n`).join('') + join(up), down: join(down) });
  try {
    await runMigrations(ctx, { connection: t.config.name, migration_file: created.file }, p);
  } catch (err) {
    const e = err instanceof DbError ? err : new DbError('INTERNAL', String(err));
    // A stepwise migration whose first statement failed applied nothing: forget it, as a transactional one.
    if (e.code === 'MIGRATION_FAILED' && e.details.nothing_applied === false && e.details.statement_index === 0) {
      await repairMigration(ctx, { connection: t.config.name, migration_id: created.version, action: 'mark_pending' }, p.signal).catch(() => undefined);
      await fs.unlink(created.path).catch(() => undefined);
      throw e.withDetails({ nothing_applied: true, migration_file: created.file, migration_file_removed: true });
    }
    if (e.code !== 'MIGRATION_FAILED' || e.details.nothing_applied === true) {
      await fs.unlink(created.path).catch(() => undefined);
      throw e.withDetails({ migration_file: created.file, migration_file_removed: true });
    }
    throw e.withDetails({ migration_file: created.file });
  }
  return { file: created.file, version: created.version };
}

export async function createTable(ctx: ServerContext, args: CreateArgs, p: Progress) {
  const t = await target(ctx, args.connection);
  const schema = normalizeTable(args.schema);
  const statements = createTableSql(schema, t.flavor);
  const base = { connection: t.config.name, backend: t.config.backend, statements };
  await refuseEscapes(t.dialect, statements);
  if (t.config.read_only && args.dry_run) return { ...base, created: false, dry_run: true, validated: false, note: 'read-only connection: the DDL was generated, not run' };
  refuseReadOnly(t.config, 'create_table');
  const existing = await readSession(t, p.signal, (s) => readTable(t, s, schema.table, schema.schema));
  if (existing) {
    if (args.if_not_exists) return { ...base, created: false, dry_run: args.dry_run ?? false, table: existing, note: 'the table already exists; nothing was changed' };
    throw new DbError('DUPLICATE_OBJECT', `table "${schema.table}" already exists on connection "${t.config.name}" (pass if_not_exists: true to accept it)`, { table: schema.table });
  }
  if (args.dry_run) {
    const validated = t.dialect.capabilities.transactionalDdl;
    if (validated) await t.dialect.withSession((s) => applyDdl(t, s, statements, p.signal, false), { signal: p.signal, timeoutMs: t.config.statement_timeout_ms });
    return { ...base, created: false, dry_run: true, validated, note: validated ? 'the DDL ran in a transaction that was rolled back' : 'DDL commits implicitly on this backend: the DDL was generated, not run' };
  }
  let recorded: Recorded | undefined;
  if (args.record_migration) {
    recorded = await recordMigration(ctx, t, `create_${slug(schema.table)}`, statements, [dropTableSql(schema, t.flavor)], p);
  } else {
    await t.dialect.withSession((s) => applyDdl(t, s, statements, p.signal, true), { signal: p.signal, timeoutMs: Math.max(t.config.statement_timeout_ms, 600_000) });
  }
  const table = await readSession(t, p.signal, (s) => readTable(t, s, schema.table, schema.schema));
  ctx.logger.info({ connection: t.config.name, table: schema.table, migration: recorded?.file }, 'table created');
  return { ...base, created: true, dry_run: false, table, ...(recorded ? { migration: recorded } : {}) };
}
