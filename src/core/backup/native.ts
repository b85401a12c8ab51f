/**
 * Native formats (format: "native"): the backend's own tool or file behind the same
 * manifest and the same tools. What is written and how it is restored is the backend
 * module's (backup.native: pg_dump, mariadb-dump, SQLite's database file); here are the
 * file, its hash and manifest, the checks before a restore and the row counts after it.
 * A native backup restores only into its own backend.
 */
import { rm } from 'node:fs/promises';
import { DbError } from '../../errors.js';
import type { NativeJob } from '../backends/contract/backup.js';
import type { Session } from '../dialect.js';
import { readTables } from '../schema/introspect.js';
import { readContext, readTable } from '../schema/manager.js';
import type { Table } from '../schema/model.js';
import { corrupt, hashFile } from './format.js';
import { publishBackup, type Manifest } from './manifest.js';
import { pendingFile } from './paths.js';
import { BACKUP_TIMEOUT_MS, countSql, pickTables, sourceOf, type BackupTarget, type Progress } from './target.js';

/** The session, progress and quoting a native dump or restore borrows. */
function jobOf(t: BackupTarget, p: Progress): NativeJob {
  return {
    url: t.config.url,
    signal: p.signal,
    progress: (done, total, message) => p.progress(done, total, message),
    session: (fn, opts) => t.dialect.withSession(fn, { signal: p.signal, timeoutMs: opts.catalog ? t.config.statement_timeout_ms : BACKUP_TIMEOUT_MS, readsOnly: opts.readsOnly }),
    names: t.flavor,
  };
}

async function count(s: Session, t: BackupTarget, table: Table): Promise<number> {
  const [row] = await s.query(countSql(table, t.flavor));
  return Number(row?.n ?? 0);
}

export async function createNative(t: BackupTarget, realDir: string, name: string, named: string[] | undefined, p: Progress): Promise<Manifest> {
  const file = await pendingFile(realDir, name);
  const createdAt = new Date().toISOString();
  const native = t.module.backup.native;
  try {
    const dumped = await native.dump({
      ...jobOf(t, p),
      named,
      file,
      tables: async (s) => pickTables(await readTables(s, readContext(t), { internal: Boolean(named?.length) }), named, t.config.name),
      count: (s, table) => count(s, t, table),
    });
    const tables = dumped.tables.map((x) => ({ ...x, sha256: null }));
    const { size, sha256 } = dumped.digest ?? await hashFile(file.tmp, p.signal);
    const known = tables.every((x) => x.rows !== null);
    const manifest: Manifest = {
      manifest_version: 1, file: name, format: 'native', native_format: native.format, size, sha256,
      created_at: createdAt, completed_at: new Date().toISOString(), source: sourceOf(t), tables,
      rows: known ? tables.reduce((a, x) => a + (x.rows ?? 0), 0) : null,
    };
    await publishBackup(realDir, file, manifest);
    return manifest;
  } finally {
    await file.discard();
    // SQLite's journal of the copy, left only if the host was killed mid-backup.
    await rm(`${file.tmp}-journal`, { force: true });
  }
}

// ------------------------------------------------------------------ restore

interface Verified { realDir: string; name: string; path: string; manifest: Manifest; verify(): Promise<void> }

type Mode = 'create' | 'replace' | 'append';

async function existing(t: BackupTarget, m: Manifest, p: Progress): Promise<string[]> {
  return t.dialect.withSession(async (s) => {
    const found: string[] = [];
    for (const x of m.tables) if (await readTable(t, s, x.name, x.schema)) found.push(x.name);
    return found;
  }, { signal: p.signal, timeoutMs: t.config.statement_timeout_ms, readsOnly: true });
}

/** The tables after a restore whose tool did not count them, each with its row count (null: not found). */
async function countAfter(t: BackupTarget, m: Manifest, mode: Mode, found: string[], p: Progress) {
  return t.dialect.withSession(async (s) => {
    const out = [];
    for (const x of m.tables) {
      const table = await readTable(t, s, x.name, x.schema);
      const [row] = table ? await s.query(countSql(table, t.flavor)) : [];
      out.push({ name: x.name, ...(x.schema !== undefined ? { schema: x.schema } : {}), rows: row ? Number(row.n) : null, created: mode !== 'append' || !found.includes(x.name) });
    }
    return out;
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
}

export async function restoreNative(t: BackupTarget, b: Verified, mode: Mode, p: Progress) {
  const started = performance.now();
  const m = b.manifest;
  const native = t.module.backup.native;
  if (m.source.backend !== t.module.name) {
    throw new DbError('UNSUPPORTED', `${b.name} is a native ${m.source.backend} backup; it restores only into ${m.source.backend} (a portable backup restores anywhere)`, { file: b.name });
  }
  if (!native.hashesWhileCopying) await b.verify();
  const found = await existing(t, m, p);
  if (mode === 'create' && found.length) {
    throw new DbError('DUPLICATE_OBJECT', `table(s) ${found.map((n) => `"${n}"`).join(', ')} already exist on "${t.config.name}"; use mode "replace"${native.appends ? ' or "append"' : ''}, or restore elsewhere`, { tables: found });
  }
  const counted = await native.restore({
    ...jobOf(t, p),
    path: b.path,
    backup: m,
    mode,
    verify: () => b.verify(),
    damaged: (why) => corrupt(m.file, why),
  });
  const tables = counted?.map((x) => ({ ...x, created: true })) ?? await countAfter(t, m, mode, found, p);
  const short = mode !== 'append' ? tables.find((x, i) => m.tables[i].rows !== null && x.rows !== m.tables[i].rows) : undefined;
  if (short) throw new DbError('INTERNAL', `table ${short.name} holds ${short.rows} rows after the restore; the backup has ${m.tables.find((x) => x.name === short.name)?.rows}`, { table: short.name });
  return {
    connection: t.config.name, backend: t.config.backend, backup: b.name, format: 'native' as const, mode, source_backend: m.source.backend,
    tables, rows: tables.every((x) => x.rows !== null) ? tables.reduce((a, x) => a + (x.rows ?? 0), 0) : null, lossy: [], elapsed_ms: Math.round(performance.now() - started),
  };
}
