/**
 * Files on disk and rows in the history, combined into one list with a status
 * each, and the problems an operator must resolve before anything runs. Pure.
 */
import type { MigrationFile } from './files.js';
import type { HistoryRow } from './history.js';

export type MigrationStatus = 'applied' | 'pending' | 'failed' | 'modified' | 'missing' | 'running';

export interface MigrationEntry {
  version: string;
  name: string;
  status: MigrationStatus;
  applied_at: string | null;
  execution_ms: number | null;
  applied_by: string | null;
  /** Files it comes from, relative to the migrations directory; [] when missing. */
  files: string[];
  has_down: boolean;
  no_transaction: boolean;
  /** For failed: the 0-based index of the statement that failed, and the error. */
  failed_statement: number | null;
  error: string | null;
}

export interface Problem {
  version: string;
  status: MigrationStatus | 'out_of_order';
  message: string;
}

function fromRow(row: HistoryRow, file: MigrationFile | undefined, lockHeld: boolean): MigrationStatus {
  if (row.status === 'running') return lockHeld ? 'running' : 'failed';
  if (row.status === 'failed') return 'failed';
  if (!file) return 'missing';
  return file.checksum === row.checksum ? 'applied' : 'modified';
}

/**
 * `lockHeld`: another migrator holds the lock now, so a `running` row is work in
 * progress; without a holder it was interrupted (a SIGKILL on MySQL) and counts as failed.
 */
export function combine(files: MigrationFile[], rows: HistoryRow[], lockHeld: boolean): MigrationEntry[] {
  const byVersion = new Map(files.map((f) => [f.version.toString(), f]));
  const entries: MigrationEntry[] = rows.map((row) => {
    const file = byVersion.get(row.version);
    byVersion.delete(row.version);
    return {
      version: row.version,
      name: file?.name ?? row.name,
      status: fromRow(row, file, lockHeld),
      applied_at: row.applied_at,
      execution_ms: row.execution_ms,
      applied_by: row.applied_by,
      files: file?.files ?? [],
      has_down: file ? file.down !== null : false,
      no_transaction: file?.noTransaction ?? false,
      failed_statement: row.failed_statement,
      error: row.error,
    };
  });
  for (const file of byVersion.values()) {
    entries.push({
      version: file.version.toString(), name: file.name, status: 'pending', applied_at: null, execution_ms: null,
      applied_by: null, files: file.files, has_down: file.down !== null, no_transaction: file.noTransaction,
      failed_statement: null, error: null,
    });
  }
  return entries.sort((a, b) => (BigInt(a.version) < BigInt(b.version) ? -1 : BigInt(a.version) > BigInt(b.version) ? 1 : 0));
}

const ADVICE: Partial<Record<MigrationStatus, string>> = {
  failed: 'failed part-way; fix the database by hand, then repair_migration with action mark_applied (you completed it) or mark_pending (you undid it)',
  modified: 'its file changed after it was applied; restore the file, or repair_migration with action accept_checksum if the change is intended',
  missing: 'is applied but its file is gone; restore the file, or repair_migration with action mark_pending to forget it',
};

/** What blocks run_migration: failed, modified and missing entries, and pending ones older than the newest applied. */
export function problems(entries: MigrationEntry[], allowOutOfOrder = false): Problem[] {
  const found: Problem[] = [];
  for (const e of entries) {
    const advice = ADVICE[e.status];
    if (advice) found.push({ version: e.version, status: e.status, message: `migration ${e.version}_${e.name} ${advice}` });
  }
  if (!allowOutOfOrder) {
    const applied = entries.filter((e) => e.status !== 'pending').map((e) => BigInt(e.version));
    const newest = applied.length ? applied.reduce((a, b) => (a > b ? a : b)) : null;
    for (const e of entries) {
      if (e.status === 'pending' && newest !== null && BigInt(e.version) < newest) {
        found.push({ version: e.version, status: 'out_of_order', message: `pending migration ${e.version}_${e.name} is older than the newest applied one (${newest}); pass allow_out_of_order: true to apply it anyway` });
      }
    }
  }
  return found;
}

export function countByStatus(entries: MigrationEntry[]): Record<MigrationStatus, number> {
  const counts: Record<MigrationStatus, number> = { applied: 0, pending: 0, failed: 0, modified: 0, missing: 0, running: 0 };
  for (const e of entries) counts[e.status]++;
  return counts;
}
