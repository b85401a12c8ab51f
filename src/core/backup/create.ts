/**
 * create_backup, portable format: one consistent snapshot, every table streamed
 * through the value readers into the file writer (gzip, hashed), then the file is
 * published and its manifest written last. Memory holds a batch of rows or two.
 */
import { createHash } from 'node:crypto';
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import type { NativeObject } from '../backends/contract/backup.js';
import type { Session } from '../dialect.js';
import { readTables } from '../schema/introspect.js';
import { readContext } from '../schema/manager.js';
import { hiddenUnportableOf, tableUnportableOf, unportableOf, type Table } from '../schema/model.js';
import { BackupFileWriter, FORMAT_NAME, FORMAT_VERSION, type Header, type TableEntry, type TableSummary } from './format.js';
import { publishBackup, type Manifest } from './manifest.js';
import { createNative } from './native.js';
import { backupName, pendingFile, realBackupDir, refuseExisting, type PendingFile } from './paths.js';
import { backupTarget, BACKUP_TIMEOUT_MS, pickTables, sourceOf, type BackupTarget, type Progress } from './target.js';
import { specOf } from './values.js';

const PROGRESS_EVERY_MS = 1000;

export interface CreateArgs {
  database?: string;
  output_path?: string;
  tables?: string[];
  format?: 'portable' | 'native';
}

/** The extension of a portable backup's file name (a native one's is its backend's). */
const PORTABLE_EXTENSION = 'cmx.gz';

function defaultName(t: BackupTarget, format: 'portable' | 'native'): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${t.config.name}-${stamp}.${format === 'portable' ? PORTABLE_EXTENSION : t.module.backup.native.extension}`;
}

/** What the table's columns have beyond the portable schema, for a restore elsewhere to list (the definition's JSON drops it). */
function unportableColumns(table: Table): { unportable?: Record<string, string[]>; table_unportable?: string[] } {
  const odd = [...table.columns.map((c) => [c.name, unportableOf(c)] as const), ...Object.entries(hiddenUnportableOf(table))].filter(([, f]) => f.length);
  const own = tableUnportableOf(table);
  return { ...(odd.length ? { unportable: Object.fromEntries(odd) } : {}), ...(own.length ? { table_unportable: own } : {}) };
}

async function entryOf(s: Session, t: BackupTarget, table: Table): Promise<TableEntry> {
  const auto = table.columns.find((c) => c.auto_increment);
  const next = auto ? await t.module.backup.portable.readSequence(s, table, auto.name, t.flavor) : null;
  const notes = await t.module.backup.portable.valueNotes?.(s, table, t.flavor);
  return {
    name: table.table,
    ...(table.schema !== undefined ? { schema: table.schema } : {}),
    definition: table,
    columns: table.columns.map((c) => ({ name: c.name, encoding: specOf(c).kind })),
    order_by: table.columns.filter((c) => c.primary_key).map((c) => c.name),
    sequence: auto && next !== null ? { column: auto.name, next } : null,
    ...unportableColumns(table),
    ...(notes?.mixed.length ? { mixed: notes.mixed } : {}),
    ...(notes?.nul.length ? { nul: notes.nul } : {}),
  };
}

/** The source's own DDL, where the backend reads it: each entry's `ddl`, and the objects around the tables. */
async function readDdl(s: Session, t: BackupTarget, entries: TableEntry[], whole: boolean): Promise<NativeObject[] | null> {
  const read = t.module.backup.portable.readDdl;
  if (!read) return null;
  const ddl = await read(s, entries.map((e) => e.definition), whole, t.flavor);
  for (const [i, e] of entries.entries()) {
    e.ddl = ddl.tables[i].ddl;
    if (ddl.tables[i].generated.length) e.generated = ddl.tables[i].generated;
  }
  return ddl.objects;
}

interface Tally {
  rows: number;
  bytes: number;
  last: number;
}

/** Rows of driver values: each through its column's reader. */
function encoder(t: BackupTarget, e: TableEntry): (row: unknown[]) => string {
  const readers = e.definition.columns.map((c) => t.module.backup.reader(specOf(c)));
  const n = readers.length;
  return (row) => {
    let line = '[';
    for (let k = 0; k < n; k++) {
      const v = row[k];
      line += (k ? ',' : '') + (v === null || v === undefined ? 'null' : readers[k](v));
    }
    return `${line}]`;
  };
}

/** Rows the database already wrote as lines (one text column). */
const finished = (finish: (line: string) => string) => (row: unknown[]): string =>
  finish(typeof row[0] === 'string' ? row[0] : Buffer.isBuffer(row[0]) ? row[0].toString('utf8') : String(row[0]));

/** Streams one table's rows into the writer; returns its summary (count and content checksum). */
async function writeTable(s: Session, t: BackupTarget, e: TableEntry, i: number, w: BackupFileWriter, p: Progress, tally: Tally): Promise<TableSummary> {
  const sql = t.module.backup.portable;
  const lines = sql.finishLine && (sql.lineMode?.(e.definition) ?? true);
  const encode = lines ? finished(sql.finishLine!(e.definition)) : encoder(t, e);
  const hash = createHash('sha256');
  let rows = 0;
  await w.writeObject({ table: i, name: e.name });
  const take = async (bytes: Buffer, n: number): Promise<void> => {
    // The checksum and gzip both take the same bytes.
    hash.update(bytes);
    rows += n;
    tally.rows += n;
    tally.bytes += bytes.length;
    await w.write(bytes);
    if (Date.now() - tally.last >= PROGRESS_EVERY_MS) {
      tally.last = Date.now();
      await p.progress(tally.rows, undefined, `${e.name}: ${rows} rows; ${tally.rows} rows, ${tally.bytes} bytes in all`);
    }
  };
  const own = s.streamLines ? sql.rowLines?.(e.definition, t.flavor) : null;
  const finishBytes = lines && s.streamLines ? sql.finishBytes?.(e.definition) : undefined;
  if (own && s.streamLines) {
    // The backend makes each line from its row as it arrives; the server only reads the rows.
    await s.streamLines(own.text, take, p.signal, own.lines);
  } else if (finishBytes && s.streamLines) {
    // Lines built by the server pass through as bytes: no string is made of them (CPU and memory).
    await s.streamLines(sql.select(e.definition, t.flavor), (bytes, n) => take(finishBytes(bytes), n), p.signal);
  } else {
    await s.stream(sql.select(e.definition, t.flavor), async (batch) => {
      let out = '';
      for (const row of batch) out += `${encode(row)}\n`;
      await take(Buffer.from(out, 'utf8'), batch.length);
    }, p.signal);
  }
  const sha256 = hash.digest('hex');
  await w.writeObject({ end: i, rows, sha256 });
  await p.progress(tally.rows, undefined, `${e.name}: done, ${rows} rows`);
  return { name: e.name, ...(e.schema !== undefined ? { schema: e.schema } : {}), rows, sha256 };
}

/** Everything inside the snapshot: schemas, sequences and rows, written to the pending file. */
async function writeSnapshot(s: Session, t: BackupTarget, args: CreateArgs, file: PendingFile, p: Progress): Promise<{ header: Header; tables: TableSummary[]; size: number; sha256: string }> {
  await s.snapshot();
  const tables = pickTables(await readTables(s, readContext(t), { internal: Boolean(args.tables?.length) }), args.tables, t.config.name);
  const entries: TableEntry[] = [];
  for (const table of tables) entries.push(await entryOf(s, t, table));
  // Named tables: their own DDL (null when the backend's tool is missing: the portable schema only).
  const read = t.module.backup.nativeDdl;
  const ddl = read ? await read(s, { url: t.config.url, signal: p.signal, ...(args.tables?.length ? { tables } : {}) }) : undefined;
  const objects = await readDdl(s, t, entries, !args.tables?.length);
  const header: Header = { format: FORMAT_NAME, version: FORMAT_VERSION, created_at: new Date().toISOString(), source: sourceOf(t), tables: entries, ...(ddl ? { native_ddl: ddl } : {}), ...(objects ? { objects } : {}) };
  const w = new BackupFileWriter(file.stream);
  try {
    await w.writeObject(header);
    // last: 0, so the first batch already reports (clients see the backup under way at once).
    const tally: Tally = { rows: 0, bytes: 0, last: 0 };
    const summaries: TableSummary[] = [];
    for (const [i, e] of entries.entries()) summaries.push(await writeTable(s, t, e, i, w, p, tally));
    await w.writeObject({ trailer: true, tables: summaries, rows: tally.rows });
    await s.rollback();
    return { header, tables: summaries, ...(await w.end()) };
  } catch (err) {
    w.destroy();
    throw err;
  }
}

export async function createBackup(ctx: ServerContext, args: CreateArgs, p: Progress) {
  const t = await backupTarget(ctx, args.database);
  const format = args.format ?? 'portable';
  const realDir = (await realBackupDir(ctx.config.backup_dir, true)) as string;
  const name = args.output_path !== undefined ? await backupName(realDir, args.output_path, 'output_path') : defaultName(t, format);
  await refuseExisting(realDir, name);
  const started = performance.now();
  const manifest = format === 'native'
    ? await createNative(t, realDir, name, args.tables, p)
    : await createPortable(t, realDir, name, args, p);
  ctx.logger.info({ connection: t.config.name, backup: name, rows: manifest.rows, size: manifest.size }, 'backup created');
  return {
    connection: t.config.name, backend: t.config.backend, backup: name, path: `${realDir}/${name}`, format,
    size: manifest.size, sha256: manifest.sha256, created_at: manifest.created_at,
    tables: manifest.tables, rows: manifest.rows, elapsed_ms: Math.round(performance.now() - started),
  };
}

async function createPortable(t: BackupTarget, realDir: string, name: string, args: CreateArgs, p: Progress): Promise<Manifest> {
  const file = await pendingFile(realDir, name);
  try {
    const out = await t.dialect.withSession((s) => writeSnapshot(s, t, args, file, p), { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS, readsOnly: true });
    if (p.signal.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    const manifest: Manifest = {
      manifest_version: 1, file: name, format: 'portable', size: out.size, sha256: out.sha256,
      created_at: out.header.created_at, completed_at: new Date().toISOString(), source: out.header.source,
      tables: out.tables.map((x) => ({ ...x, rows: x.rows })), rows: out.tables.reduce((a, x) => a + x.rows, 0),
    };
    await publishBackup(realDir, file, manifest);
    return manifest;
  } finally {
    await file.discard();
  }
}
