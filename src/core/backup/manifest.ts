/**
 * The manifest `<name>.manifest.json`, written beside a backup the same way (temporary,
 * sync, link) and linked just before it (publishBackup). A backup without a valid manifest does not exist for
 * any tool: list_backups shows it as incomplete or corrupt, restore refuses it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DbError } from '../../errors.js';
import { BACKEND_NAMES } from '../backends/lookup.js';
import { hashFile, type Source } from './format.js';
import { MANIFEST_SUFFIX, pendingFile, syncDir, type PendingFile } from './paths.js';

export const MANIFEST_VERSION = 1;

const sha = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  manifest_version: z.literal(MANIFEST_VERSION),
  file: z.string().min(1),
  /** portable: our format (SPEC §11.1); native: the backend's own tool or API. */
  format: z.enum(['portable', 'native']),
  /** For native backups: pg_dump-custom, mysqldump-gzip or sqlite-database. */
  native_format: z.string().optional(),
  size: z.number().int().min(0),
  sha256: sha,
  created_at: z.string(),
  completed_at: z.string(),
  source: z.object({
    connection: z.string(), backend: z.enum(BACKEND_NAMES), server_version: z.string(),
    flavor: z.string().nullable(), database: z.string(), url: z.string(),
  }),
  tables: z.array(z.object({ name: z.string(), schema: z.string().optional(), rows: z.number().int().nullable(), sha256: sha.nullable() })),
  rows: z.number().int().nullable(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestSource = Source;

export const manifestText = (m: Manifest): string => `${JSON.stringify(m, null, 2)}\n`;

export type BackupStatus = 'ok' | 'corrupt' | 'incomplete';

export interface Checked {
  status: BackupStatus;
  manifest: Manifest | null;
  /** Why it is not ok. */
  problem?: string;
}

/** Reads and checks the manifest of `name`; `hash` also recomputes the file's SHA-256. */
export async function checkBackup(realDir: string, name: string, hash: boolean, signal?: AbortSignal): Promise<Checked> {
  let text: string;
  try {
    text = await fs.readFile(path.join(realDir, name + MANIFEST_SUFFIX), 'utf8');
  } catch {
    return { status: 'incomplete', manifest: null, problem: 'no manifest: the backup did not finish' };
  }
  let manifest: Manifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(text));
  } catch {
    return { status: 'corrupt', manifest: null, problem: 'the manifest is not valid' };
  }
  // Normal forms aside (a copy through another file system may change them, SPEC §17.4).
  if (manifest.file.normalize('NFC') !== name.normalize('NFC')) return { status: 'corrupt', manifest, problem: `the manifest describes ${manifest.file}` };
  const st = await fs.lstat(path.join(realDir, name)).catch(() => null);
  // The manifest is linked before its data file (publishBackup): a manifest alone is a backup
  // that never finished publishing (or whose file was removed), not a damaged one.
  if (!st) return { status: 'incomplete', manifest, problem: 'the data file is missing: the backup did not finish (or the file was removed)' };
  if (!st.isFile()) return { status: 'corrupt', manifest, problem: 'the backup file is not a regular file' };
  if (st.size !== manifest.size) return { status: 'corrupt', manifest, problem: `the file has ${st.size} bytes, the manifest says ${manifest.size}` };
  if (hash) {
    const actual = await hashFile(path.join(realDir, name), signal);
    if (actual.sha256 !== manifest.sha256) return { status: 'corrupt', manifest, problem: 'the file\'s SHA-256 differs from the manifest\'s' };
  }
  return { status: 'ok', manifest };
}

/** A verified manifest or a clear refusal (restore's first step); `hash: false` leaves the SHA-256 to the caller (checked while copying). */
export async function requireVerified(realDir: string, name: string, signal?: AbortSignal, hash = true): Promise<Manifest> {
  const c = await checkBackup(realDir, name, hash, signal).catch((err) => {
    if (signal?.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    throw err;
  });
  if (c.status === 'incomplete') throw new DbError('UNDEFINED_OBJECT', `${name} is not a finished backup (${c.problem}); nothing was restored`, { file: name, status: c.status });
  if (c.status === 'corrupt') throw new DbError('BACKUP_CORRUPT', `backup ${name} is damaged: ${c.problem}; nothing was restored`, { file: name, status: c.status });
  return c.manifest as Manifest;
}

/**
 * The data file never shows under its name without its manifest, not even for a moment.
 * Both are written and synced as hidden temporaries first (never listed); then the manifest
 * is linked, and the data file's link is the commit point. A SIGKILL at any step leaves:
 * hidden temporaries only (before the first link), a manifest whose data file is missing
 * (between the links: listed `incomplete`, restore refuses it, its name stays taken), or the
 * whole backup. The reverse order (as first built) left a data file without its manifest in
 * the window between the two links (seen in the fault suite under load). If the data file
 * cannot be linked (its name appeared meanwhile), the manifest just linked goes again.
 */
export async function publishBackup(realDir: string, file: PendingFile, manifest: Manifest): Promise<void> {
  await file.seal();
  const m = await pendingFile(realDir, manifest.file + MANIFEST_SUFFIX);
  try {
    await new Promise<void>((resolve, reject) => m.stream.end(manifestText(manifest), (err?: Error | null) => (err ? reject(err) : resolve())));
    await m.link();
    try {
      await file.link();
    } catch (err) {
      await fs.rm(`${realDir}/${manifest.file}${MANIFEST_SUFFIX}`, { force: true });
      throw err;
    }
    await syncDir(realDir);
  } finally {
    await m.discard();
  }
}
