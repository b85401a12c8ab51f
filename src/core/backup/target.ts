/**
 * What backups and restores, portable and native, share: the connection they work on
 * (with its backend module), progress reporting, the time a backup may take, the
 * tables asked for, the manifest's source and row counts.
 */
import { safeUrl } from '../../config.js';
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import { backendModule, type BackendModule } from '../backends/lookup.js';
import { qualified } from '../schema/ddl.js';
import type { SchemaFlavor } from '../schema/flavors.js';
import { target, type Target } from '../schema/manager.js';
import type { Table } from '../schema/model.js';
import type { Source } from './format.js';

/** An opened connection and its backend's module, which a backup asks whatever differs by backend. */
export interface BackupTarget extends Target {
  module: BackendModule;
}

export async function backupTarget(ctx: ServerContext, connection: string | undefined): Promise<BackupTarget> {
  const t = await target(ctx, connection);
  return { ...t, module: backendModule(t.config.backend) };
}

export interface Progress {
  signal: AbortSignal;
  /** done: rows so far (all tables); total when known. */
  progress(done: number, total: number | undefined, message: string): Promise<void>;
}

/** Backups read for as long as the data takes; cancellation (not a timeout) stops them. */
export const BACKUP_TIMEOUT_MS = 6 * 3600_000;

export function sourceOf(t: BackupTarget): Source {
  return {
    connection: t.config.name, backend: t.config.backend, server_version: t.info.server_version,
    flavor: t.info.flavor, database: t.info.database, url: safeUrl(t.config.url),
  };
}

/** The tables asked for, by name (PostgreSQL also schema.name); all when none are named. */
export function pickTables(all: Table[], names: string[] | undefined, connection: string): Table[] {
  if (!names?.length) return all;
  const key = (t: Table): string[] => (t.schema ? [t.table, `${t.schema}.${t.table}`] : [t.table]);
  const missing = names.filter((n) => !all.some((t) => key(t).includes(n)));
  if (missing.length) throw new DbError('UNDEFINED_OBJECT', `no table ${missing.map((m) => `"${m}"`).join(', ')} on connection "${connection}"`, { tables: missing });
  return all.filter((t) => key(t).some((k) => names.includes(k)));
}

/**
 * The table's rows: its own (`own`, as a backup reads them), or every row its FROM gives
 * (a restore's check: rows a trigger on an inheritance parent routes into a child are stored).
 */
export const countSql = (t: Table, f: SchemaFlavor, own = true): string => {
  const name = qualified(t, f);
  return `SELECT count(*) AS n FROM ${name}${own && f.ownRows ? ` WHERE ${f.ownRows(name)}` : ''}`;
};
