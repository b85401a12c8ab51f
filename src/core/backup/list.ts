/**
 * list_backups: what the backup directory holds, each with its status. Hidden
 * temporaries (a backup being written, or one a crash left) are never listed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ServerContext } from '../../context.js';
import { checkBackup, type BackupStatus } from './manifest.js';
import { MANIFEST_SUFFIX, realBackupDir } from './paths.js';

export interface ListArgs {
  database?: string;
  verify?: boolean;
}

export interface Listed {
  name: string;
  status: BackupStatus;
  problem?: string;
  connection: string | null;
  backend: string | null;
  format: string | null;
  created_at: string | null;
  size: number;
  tables: Array<{ name: string; schema?: string; rows: number | null }>;
  rows: number | null;
}

/** Data files and orphaned manifests: every name that is, or was meant to be, a backup. */
async function names(realDir: string): Promise<string[]> {
  const all = (await fs.readdir(realDir)).filter((n) => !n.startsWith('.'));
  const data = new Set(all.filter((n) => !n.endsWith(MANIFEST_SUFFIX)));
  for (const m of all.filter((n) => n.endsWith(MANIFEST_SUFFIX))) data.add(m.slice(0, -MANIFEST_SUFFIX.length));
  return [...data];
}

export async function listBackups(ctx: ServerContext, args: ListArgs, signal: AbortSignal) {
  const realDir = await realBackupDir(ctx.config.backup_dir, false);
  if (!realDir) return { backup_dir: ctx.config.backup_dir, backups: [] };
  const out: Listed[] = [];
  for (const name of await names(realDir)) {
    const st = await fs.lstat(path.join(realDir, name)).catch(() => null);
    if (st && !st.isFile()) continue;
    const c = await checkBackup(realDir, name, args.verify ?? false, signal);
    const m = c.manifest;
    if (args.database !== undefined && m?.source.connection !== args.database) continue;
    out.push({
      name, status: c.status, ...(c.problem ? { problem: c.problem } : {}),
      connection: m?.source.connection ?? null, backend: m?.source.backend ?? null, format: m?.format ?? null,
      created_at: m?.created_at ?? (st ? st.mtime.toISOString() : null), size: st?.size ?? 0,
      tables: (m?.tables ?? []).map((x) => ({ name: x.name, ...(x.schema !== undefined ? { schema: x.schema } : {}), rows: x.rows })),
      rows: m?.rows ?? null,
    });
  }
  out.sort((a, b) => ((a.created_at ?? '') < (b.created_at ?? '') ? 1 : (a.created_at ?? '') > (b.created_at ?? '') ? -1 : 0));
  return { backup_dir: realDir, backups: out };
}
