/**
 * restore_backup, portable format: the manifest and the whole file's SHA-256 are
 * verified before the database is touched; the plan (types, lossy mappings, DDL) is
 * made before too. Then, in one transaction where DDL allows: drop (replace), create,
 * bulk-load, add indexes and foreign keys, set sequences, check row counts and
 * content checksums, commit. MySQL commits DDL by itself: there the tables are
 * created first and dropped again if the load fails.
 */
import { createHash } from 'node:crypto';
import type { ServerContext } from '../../context.js';
import { asDbError, DbError } from '../../errors.js';
import type { LoadBatch, Session } from '../dialect.js';
import { allForeignKeys, qualified } from '../schema/ddl.js';
import { unportableOf, type Table } from '../schema/model.js';
import { readTable, refuseReadOnly } from '../schema/manager.js';
import { corrupt, openBackup, type BackupRecord } from './format.js';
import { checkHeader } from './header.js';
import { requireVerified, type Manifest } from './manifest.js';
import { restoreNative } from './native.js';
import { backupName, existingFile, realBackupDir } from './paths.js';
import { planRestore, withNativeDdl, type Lossy, type RestorePlan, type TablePlan } from './plan.js';
import { backupTarget, BACKUP_TIMEOUT_MS, countSql, type BackupTarget, type Progress } from './target.js';
import { specOf } from './values.js';

export type RestoreMode = 'create' | 'replace' | 'append';

export interface RestoreArgs {
  backup_path: string;
  database?: string;
  mode?: RestoreMode;
  allow_lossy?: boolean;
}

interface Loaded {
  name: string;
  schema?: string;
  rows: number;
  created: boolean;
}

export interface VerifiedBackup {
  realDir: string;
  name: string;
  path: string;
  manifest: Manifest;
  /** Hashes the whole file and compares it with the manifest (BACKUP_CORRUPT), once; skipped by a restore that hashes while it copies. */
  verify(): Promise<void>;
}

/** The backup file checked against its manifest (size now, SHA-256 by verify()) and the name the user gave. */
export async function verifiedBackup(ctx: ServerContext, given: string, signal: AbortSignal): Promise<VerifiedBackup> {
  const realDir = await realBackupDir(ctx.config.backup_dir, false);
  if (!realDir) throw new DbError('UNDEFINED_OBJECT', `the backup directory ${ctx.config.backup_dir} does not exist`, { dir: ctx.config.backup_dir });
  const name = await backupName(realDir, given, 'backup_path', true);
  const path = await existingFile(realDir, name, 'backup');
  const manifest = await requireVerified(realDir, name, signal, false);
  let verified: Promise<unknown> | null = null;
  return { realDir, name, path, manifest, verify: async () => { await (verified ??= requireVerified(realDir, name, signal, true)); } };
}

export async function restoreBackup(ctx: ServerContext, args: RestoreArgs, p: Progress) {
  const t = await backupTarget(ctx, args.database);
  refuseReadOnly(t.config, 'restore_backup');
  const started = performance.now();
  const b = await verifiedBackup(ctx, args.backup_path, p.signal);
  const mode = args.mode ?? 'create';
  if (b.manifest.format === 'native') return restoreNative(t, b, mode, p);
  await b.verify();
  const { header, records } = await openBackup(b.path, b.name, p.signal);
  checkHeader(header, b.name);
  const names = (x: Array<{ name: string }>): string => x.map((y) => y.name).join('\u0000');
  if (names(header.tables) !== names(b.manifest.tables)) throw corrupt(b.name, 'its tables differ from the manifest\'s');
  const portable = planRestore(header, t.flavor, t.module, t.info.flavor);
  const native = withNativeDdl(portable, header, t.module);
  // The source's DDL makes new tables: in mode create, and in mode replace of named tables none of which exists yet
  // (a whole database's DDL also makes schemas and types, which such a target may have).
  // Mode replace into a database that holds nothing of the kind (`empty`) does the same for a whole database's DDL.
  const choose = (existing: number, empty = false): RestorePlan => (mode === 'create' || (mode === 'replace' && existing === 0 && (native.native?.tables_only || empty)) ? native : portable);
  let plan = choose(0);
  // The backup's own SQL is checked before it runs; what the chosen plan loses is refused unless accepted.
  const vet = async (chosen: RestorePlan): Promise<void> => {
    if (chosen.native) await t.module.backup.checkNativeDdl?.(chosen.native);
    if (!chosen.lossy.length || args.allow_lossy) return;
    throw new DbError('UNSUPPORTED', `restoring this ${header.source.backend} backup into ${t.module.name} would lose: ${chosen.lossy.map((l) => `${l.table}${l.column ? `.${l.column}` : ''}: ${l.what}`).join('; ')}. Nothing was restored; pass allow_lossy: true to accept`, { lossy: chosen.lossy });
  };
  // Mode replace with native DDL: the target decides (inside the session) which plan runs.
  // Mode append: the target decides what its tables lose. From the same backend and flavour,
  // what the plan lists of a table the target already has is of the table it would have made
  // (its DDL, its identity), which the rows do not need (another flavour may read values
  // otherwise: MariaDB's JSON text into MySQL 8's). From any backend, a column whose type on
  // the target is not the one the plan would make is listed: its values are converted there.
  const appendSame = mode === 'append' && !portable.cross && (header.source.flavor ?? null) === (t.info.flavor ?? null);
  const targetDecides = (mode === 'replace' && Boolean(native.native)) || mode === 'append';
  if (!targetDecides) await vet(plan);
  const tables = await t.dialect.withSession(async (s) => {
    // Read once, for the choice here and for the restore (both plans share their tables).
    const there = targetDecides ? await existingTables(s, t, portable) : undefined;
    if (mode === 'append' && there) {
      const names = new Set([...there.keys()].map((tp) => tp.entry.name));
      // Objects of the backup's DDL the target has already (an append into a database of the same schema): nothing of theirs is lost.
      const notMade = appendSame ? plan.notMade ?? [] : [];
      const present = notMade.length && t.module.backup.objectsPresent ? await t.module.backup.objectsPresent(s, notMade) : [];
      const onTarget = new Set(notMade.filter((_, i) => present[i]).map((o) => o.entry));
      const kept = appendSame ? plan.lossy.filter((l) => !names.has(l.table) && !onTarget.has(l)) : plan.lossy;
      plan = { ...plan, lossy: [...kept, ...convertedOnAppend(there)] };
      await vet(plan);
    } else if (there) {
      const empty = !native.native?.tables_only && there.size === 0 && (await t.module.backup.emptyForNativeDdl?.(s)) === true;
      plan = choose(there.size, empty);
      await vet(plan);
    }
    return restoreInto(s, t, plan, records, mode, b.manifest, p, Boolean(native.native && !native.native.tables_only), there);
  }, { signal: p.signal, timeoutMs: BACKUP_TIMEOUT_MS });
  ctx.logger.info({ connection: t.config.name, backup: b.name, mode, rows: b.manifest.rows }, 'backup restored');
  return {
    connection: t.config.name, backend: t.config.backend, backup: b.name, format: 'portable' as const, mode,
    source_backend: header.source.backend, tables, rows: tables.reduce((a, x) => a + x.rows, 0),
    lossy: plan.lossy, elapsed_ms: Math.round(performance.now() - started),
  };
}

/**
 * The backup's own DDL makes every object of the database (schemas, types, functions …):
 * one that exists already on the target (an empty schema of the same name, a type) says
 * so, and what to do instead.
 */
function alreadyThere(err: unknown, t: BackupTarget): unknown {
  const e = asDbError(err);
  // The DDL makes its objects in the schemas the source had; one it does not make itself (public) must be there.
  // A relation the DDL of named tables needs besides them: an inheritance parent, a partitioned table's parent.
  if (e.code === 'UNDEFINED_OBJECT' && e.details.sqlstate === '42P01') {
    return new DbError('UNDEFINED_OBJECT', `${e.message}: the backup's own DDL of its tables needs it (a parent table they inherit from, or the like), and neither the backup nor "${t.config.name}" has it; nothing was restored. Back it up with them, or create it first`, e.details);
  }
  if (e.code === 'UNDEFINED_OBJECT' && e.details.sqlstate === '3F000') {
    return new DbError('UNDEFINED_OBJECT', `${e.message}: the backup's own DDL creates its objects in the schemas the source had and expects this one on "${t.config.name}"; nothing was restored. Create it, or use mode "replace" (which creates the schemas its tables need)`, e.details);
  }
  if (e.code !== 'DUPLICATE_OBJECT') return err;
  return new DbError('DUPLICATE_OBJECT', `${e.message}: the backup's own DDL creates every object of the database, and "${t.config.name}" has this one already; nothing was restored. Restore into an empty database, or use mode "replace" (which then loads the tables from the portable schema and lists in lossy what that cannot carry)`, e.details);
}

/** The plan's tables the target has already, each as the target has it. */
async function existingTables(s: Session, t: BackupTarget, plan: RestorePlan): Promise<Map<TablePlan, Table>> {
  const out = new Map<TablePlan, Table>();
  for (const tp of plan.tables) {
    const found = await readTable(t, s, tp.table.table, tp.table.schema);
    if (found) out.set(tp, found);
  }
  return out;
}

/** `wholeDdl`: the backup carries the DDL of its whole database (which this plan may not run). */
async function restoreInto(s: Session, t: BackupTarget, plan: RestorePlan, records: AsyncGenerator<BackupRecord>, mode: RestoreMode, m: Manifest, p: Progress, wholeDdl = false, there?: Map<TablePlan, Table>): Promise<Loaded[]> {
  const sql = t.module.backup.portable;
  const transactional = t.dialect.capabilities.transactionalDdl;
  const existing = new Set((there ?? await existingTables(s, t, plan)).keys());
  if (mode === 'create' && existing.size) {
    const found = [...existing].map((tp) => tp.table.table);
    throw new DbError('DUPLICATE_OBJECT', `table(s) ${found.map((n) => `"${n}"`).join(', ')} already exist on "${t.config.name}"; use mode "replace" or "append", or restore elsewhere`, { tables: found });
  }
  // The DDL of named tables does not make the types their columns use (the target must have
  // them); it does make the sequences their defaults take from.
  if (!plan.native || plan.native.tables_only) await refuseMissingTypes(s, t, plan, !plan.native, wholeDdl);
  await refuseKeylessTables(s, t, plan, mode, existing);
  if (mode === 'replace' && existing.size) await refuseDependents(s, t, [...existing].map((tp) => tp.table));
  // The keys of the tables this restore makes (in mode append, those the target lacks).
  if (!t.module.backup.danglingForeignKeys) await refuseMissingReferences(s, t, plan, mode === 'append' ? plan.tables.filter((tp) => !existing.has(tp)) : plan.tables);
  const created: TablePlan[] = [];
  const objects: Array<{ drop: string[] }> = [];
  const fkWas = await s.setForeignKeys(false);
  try {
    if (sql.beforeLoad.length) await s.run(sql.beforeLoad);
    if (transactional) await s.begin();
    try {
      if (mode === 'replace' && existing.size) await s.run(sql.drop([...existing].map((tp) => tp.table), t.flavor));
      await createObjects(s, t, plan, mode, objects, true);
      if (plan.native) {
        // The backup's own DDL makes every table (and what goes with them) at once.
        await s.run([plan.native.before_data]).catch((err: unknown) => { throw alreadyThere(err, t); });
        created.push(...plan.tables);
      } else {
        // Tables of the source's schemas made from their portable definitions (replace or append into a database without them): the schemas first.
        const schemas = new Set<string>();
        for (const tp of plan.tables) {
          if (mode === 'append' && existing.has(tp)) continue;
          const schema = tp.table.schema;
          if (schema !== undefined && t.flavor.namespaces && !schemas.has(schema)) {
            schemas.add(schema);
            await s.run([`CREATE SCHEMA IF NOT EXISTS ${t.flavor.quote(schema)}`]);
          }
          await built(s, [tp.create]);
          created.push(tp);
          if (fromOwnDdl(tp)) await madeAsDefined(s, t, tp, m.file);
        }
      }
      // Rows made from other tables and objects (a full-text index over a view), made once both are there.
      const derive: string[] = [];
      const loaded = await loadAll(s, t, plan, records, mode, created, m, p, derive);
      if (await s.foreignKeyViolations()) throw new DbError('CONSTRAINT_VIOLATION', 'the restored rows break a foreign key; nothing was restored');
      const objectsThenDerived = async (): Promise<void> => {
        await createObjects(s, t, plan, mode, objects, false);
        if (derive.length) await s.run(derive);
      };
      if (transactional) await objectsThenDerived();
      // A cancel that came while the last statement ran (a COPY's end) is not answered with a commit.
      if (p.signal.aborted) throw new DbError('CANCELLED', 'cancelled by the client; nothing was restored');
      await s.commit();
      if (!transactional && !plan.native) await setSequences(s, t, plan, created);
      if (!transactional) await objectsThenDerived();
      return loaded;
    } catch (err) {
      await s.rollback().catch(() => undefined);
      // DDL committed by itself (MySQL): take back the objects and tables this restore created.
      if (!transactional) await takeBack(s, t, [...objects.flatMap((o) => o.drop), ...(created.length ? sql.drop(created.map((tp) => tp.table), t.flavor) : [])]);
      throw err;
    }
  } finally {
    if (sql.afterLoad.length) await s.run(sql.afterLoad).catch(() => undefined);
    await s.setForeignKeys(fkWas).catch(() => undefined);
  }
}

/** How long taking back a failed restore may take on a session of its own. */
const TAKE_BACK_TIMEOUT_MS = 60_000;

/**
 * Drops what a failed restore created where DDL commits by itself (MySQL), in order, on the
 * restore's own session; a statement that fails otherwise is passed over, as the object may
 * not be there. When that session is gone (its connection killed or lost: the very failure
 * being handled, often), the rest run on a new session, so nothing of the restore stays.
 */
async function takeBack(s: Session, t: BackupTarget, statements: string[]): Promise<void> {
  for (let i = 0; i < statements.length; i++) {
    try {
      await s.run([statements[i]]);
    } catch (err) {
      if (!(err instanceof DbError) || err.code !== 'CONNECTION_LOST') continue;
      await t.dialect.withSession(async (fresh) => {
        for (const st of statements.slice(i)) await fresh.run([st]).catch(() => undefined);
      }, { timeoutMs: TAKE_BACK_TIMEOUT_MS }).catch(() => undefined);
      return;
    }
  }
}

/**
 * Views, routines, triggers and events, after the rows (a trigger must not fire on the
 * load), in the order the backup lists them; `early` ones (sequences) before the tables.
 * Not in mode append (the tables it adds to keep their own); mode replace drops an
 * object of the same name first.
 */
async function createObjects(s: Session, t: BackupTarget, plan: RestorePlan, mode: RestoreMode, done: Array<{ drop: string[] }>, early: boolean): Promise<void> {
  const objectSql = t.module.backup.portable.objectSql;
  if (mode === 'append' || !objectSql) return;
  for (const o of plan.objects.filter((x) => Boolean(x.early) === early)) {
    const { create, drop } = objectSql(o, t.flavor);
    if (mode === 'replace') await s.run(drop);
    await s.run(create);
    // Only once created: a create that failed on an object already there must not drop it.
    done.push({ drop });
  }
}

async function count(s: Session, t: BackupTarget, tp: TablePlan): Promise<number> {
  const own = t.module.backup.portable.count;
  if (own) return own.call(t.module.backup.portable, s, tp.table, t.flavor);
  const [row] = await s.query(countSql(tp.table, t.flavor, false));
  return Number(row?.n ?? 0);
}

async function loadAll(s: Session, t: BackupTarget, plan: RestorePlan, records: AsyncGenerator<BackupRecord>, mode: RestoreMode, created: TablePlan[], m: Manifest, p: Progress, derive: string[]): Promise<Loaded[]> {
  const sql = t.module.backup.portable;
  // Tables whose load the database counts exactly itself (exactLoad) are not counted again.
  const exact = new Set<TablePlan>();
  if (sql.exactLoad) for (const tp of plan.tables) if (await sql.exactLoad(s, tp.table, t.flavor)) exact.add(tp);
  if (!t.dialect.capabilities.transactionalDdl && (mode === 'append' || !sql.commitsBatches)) await s.begin();
  const tally = { rows: 0, last: Date.now() };
  const out: Loaded[] = [];
  for (const [i, tp] of plan.tables.entries()) {
    const start = await records.next();
    if (start.done || start.value.kind !== 'start' || start.value.table !== i) throw corrupt(m.file, `table ${tp.entry.name} does not start where expected`);
    const made = sql.derivedRows ? await sql.derivedRows(s, tp.table, t.flavor) : null;
    if (made) {
      // Read to its end all the same: its rows are checked against the manifest (their count and checksum).
      for await (const batch of batches(records, i, tp, m, p, tally)) void batch;
      derive.push(...made);
      out.push({ name: tp.table.table, ...(tp.table.schema ? { schema: tp.table.schema } : {}), rows: m.tables[i].rows ?? 0, created: created.includes(tp) });
      continue;
    }
    // Columns the target computes: PostgreSQL's asked of the table as it is now (made from the
    // backup's DDL, or already there for append and replace: COPY refuses a value for them),
    // MySQL's named in the backup (tp.skip).
    const computed = sql.computedColumns ? new Set(await sql.computedColumns(s, tp.table, t.flavor)) : new Set<string>();
    const loaded = tp.table.columns.filter((c, k) => !computed.has(c.name) && !tp.skip.includes(k));
    const target = { table: qualified(tp.table, t.flavor), columns: loaded.map((c) => t.flavor.quote(c.name)), exact: exact.has(tp), kinds: loaded.map((c) => specOf(c).kind) };
    const all = batches(records, i, tp, m, p, tally);
    // Counted just before its load: an inheritance parent's count takes in the rows of the children loaded before it.
    const before = exact.has(tp) ? 0 : await count(s, t, tp);
    const own = sql.sourceTypesLoad && created.includes(tp) && fromOwnDdl(tp) ? sql.sourceTypesLoad : null;
    if (own) await s.run(own.before);
    const rows = await s.load(target, computed.size ? without(all, tp.table.columns.map((c) => computed.has(c.name))) : all, p.signal)
      .catch((err: unknown) => { throw inTable(err, tp.entry.name); });
    if (own) await s.run(own.after);
    if (!exact.has(tp)) {
      const expected = before + rows;
      const actual = await count(s, t, tp);
      if (actual !== expected) throw new DbError('INTERNAL', `table ${tp.entry.name} holds ${actual} rows after the restore, ${expected} were expected; nothing was restored`, { table: tp.entry.name, expected, actual });
    }
    out.push({ name: tp.table.table, ...(tp.table.schema ? { schema: tp.table.schema } : {}), rows, created: created.includes(tp) });
  }
  const last = await records.next();
  if (last.done || last.value.kind !== 'trailer') throw corrupt(m.file, 'it has no trailer');
  if (plan.native) {
    await s.run([plan.native.after_data]);
    return out;
  }
  for (const tp of created) if (tp.after.length) await built(s, tp.after);
  for (const tp of created) if (tp.foreignKeys.length) await built(s, tp.foreignKeys);
  if (t.dialect.capabilities.transactionalDdl) await setSequences(s, t, plan, created);
  return out;
}

/** Columns of tables the target has whose type there is not the one the plan would make (mode append loads into them as they are). */
function convertedOnAppend(there: Map<TablePlan, Table>): Lossy[] {
  const out: Lossy[] = [];
  // SQLite: a column declared without a type (native '') is what the plan calls BLOB (the same affinity).
  const typeOf = (c: { type: string; native?: string }): string => (c.type === 'native' ? c.native || 'BLOB' : c.type);
  for (const [tp, target] of there) {
    for (const c of tp.table.columns) {
      const on = target.columns.find((x) => x.name === c.name);
      if (on && typeOf(on).toLowerCase() !== typeOf(c).toLowerCase()) {
        out.push({ table: tp.entry.name, column: c.name, what: `is ${typeOf(on)} on the target, ${typeOf(c)} in the backup: mode append stores the values as that column converts them` });
      }
    }
  }
  return out;
}

/** The table is made from the source's own DDL (the same backend and flavour), not from its portable definition. */
const fromOwnDdl = (tp: TablePlan): boolean => tp.entry.ddl !== undefined && tp.entry.ddl.length > 0 && tp.create === tp.entry.ddl[0];

/**
 * A table made from the source's own DDL has the columns its definition says, with their
 * types and what they have beyond them (a character set, ON UPDATE): otherwise the DDL is
 * not the table's (a forged `varchar(3)` for a `varchar(100)` would cut the values a
 * non-strict load takes), and the restore stops as BACKUP_CORRUPT, before any row.
 */
async function madeAsDefined(s: Session, t: BackupTarget, tp: TablePlan, file: string): Promise<void> {
  const made = await readTable(t, s, tp.table.table, tp.table.schema);
  const defined = tp.entry.definition.columns;
  const shape = (c: { name: string; type: string; native?: string; nullable: boolean }, features: string[]): string =>
    JSON.stringify([c.name, c.type, c.native ?? null, c.nullable, [...features].sort()]);
  const want = defined.map((c) => shape(c, tp.entry.unportable?.[c.name] ?? []));
  const got = made?.columns.map((c) => shape(c, unportableOf(c))) ?? [];
  const k = want.findIndex((w, i) => w !== got[i]);
  if (k >= 0 || got.length !== want.length) {
    const at = k >= 0 ? k : Math.min(want.length, got.length);
    throw corrupt(file, `the DDL of table ${tp.entry.name} makes another table than its definition (column ${at + 1}: ${got[at] ?? 'none'}, defined ${want[at] ?? 'none'})`);
  }
}

/** DDL the plan built from the header's definitions: one statement per message where the database can hold it to that (Session.runSingle). */
function built(s: Session, statements: string[]): Promise<void> {
  return s.runSingle ? s.runSingle(statements) : s.run(statements);
}

/** A load's failure names its table (a driver's message names a column and a row of one batch at most). */
function inTable(err: unknown, table: string): unknown {
  if (!(err instanceof DbError) || ['CANCELLED', 'CONNECTION_LOST', 'TIMEOUT', 'BACKUP_CORRUPT'].includes(err.code) || err.details.table !== undefined) return err;
  const batch = /\bat row \d+/.test(err.message) ? ' (the row is counted within one batch of the load)' : '';
  return new DbError(err.code, `loading table ${table}: ${err.message}${batch}`, { ...err.details, table });
}

/**
 * Tables the backup's foreign keys reference that are neither in the backup (a backup of
 * named tables) nor on the target: the target would refuse the key halfway through
 * (PostgreSQL: `relation "customer" does not exist`). Refused before anything is touched,
 * naming them.
 */
async function refuseMissingReferences(s: Session, t: BackupTarget, plan: RestorePlan, made: TablePlan[]): Promise<void> {
  // Schemas count only within PostgreSQL: across backends every table lands in the target's one namespace.
  const schemas = !plan.cross && Boolean(t.module.schema.namespaces);
  // Case aside: SQLite and MySQL name a table in any case; a PostgreSQL name that only this lets
  // through fails at its key, as it did before this check.
  const key = (table: string, schema?: string): string => `${schemas ? schema ?? '' : ''}\u0000${table.toLowerCase()}`;
  const own = new Set(plan.tables.map((tp) => key(tp.table.table, tp.table.schema)));
  const wanted = new Map<string, { table: string; schema?: string; by: string[] }>();
  for (const tp of made) {
    for (const fk of allForeignKeys(tp.table)) {
      const k = key(fk.references.table, fk.references.schema);
      if (own.has(k)) continue;
      const w = wanted.get(k) ?? { table: fk.references.table, ...(schemas && fk.references.schema ? { schema: fk.references.schema } : {}), by: [] };
      w.by.push(`${tp.table.table} (${fk.columns.join(', ')})`);
      wanted.set(k, w);
    }
  }
  const missing: Array<{ table: string; schema?: string; by: string[] }> = [];
  for (const w of wanted.values()) if (!(await readTable(t, s, w.table, w.schema))) missing.push(w);
  if (!missing.length) return;
  const named = (w: { table: string; schema?: string }): string => `"${w.schema ? `${w.schema}.` : ''}${w.table}"`;
  throw new DbError('UNDEFINED_OBJECT', `the backup's foreign keys reference ${missing.map((w) => `${named(w)} (from ${w.by.join(', ')})`).join('; ')}, which neither the backup nor "${t.config.name}" has: back up those tables with these, or create them first; nothing was restored`, { referenced: missing.map((w) => ({ table: w.table, ...(w.schema ? { schema: w.schema } : {}) })) });
}

/** Objects outside the backup that the replaced tables cannot be dropped without (views on them): refused before anything is touched. */
async function refuseDependents(s: Session, t: BackupTarget, tables: TablePlan['table'][]): Promise<void> {
  const sql = t.module.backup.portable;
  const found = sql.dependents ? await sql.dependents(s, tables, t.flavor) : [];
  if (!found.length) return;
  throw new DbError('CONSTRAINT_VIOLATION', `mode "replace" drops only the tables it restores, and these depend on them: ${found.join(', ')}. Drop those first (and create them again after), or restore into an empty database; nothing was restored`, { dependents: found });
}

/**
 * What the tables need of the target that the backup does not carry: native column types
 * (an enum or domain of the source), and, without native DDL, sequences a column default
 * takes from (PostgreSQL's nextval of a sequence no column owns). Refused before anything is touched.
 */
async function refuseMissingTypes(s: Session, t: BackupTarget, plan: RestorePlan, sequencesToo: boolean, wholeDdl: boolean): Promise<void> {
  const sql = t.module.backup.portable;
  const types = new Map<string, string[]>();
  const defaults = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, key: string, where: string): void => { m.set(key, [...(m.get(key) ?? []), where]); };
  for (const tp of plan.tables) {
    for (const c of tp.table.columns) {
      const where = `${tp.table.table}.${c.name}`;
      if (c.type === 'native' && c.native) add(types, c.native, where);
      if (sequencesToo && typeof c.default === 'object' && c.default !== null) add(defaults, c.default.sql, where);
    }
  }
  const missing = sql.missingTypes && types.size ? await sql.missingTypes.call(sql, s, [...types.keys()]) : [];
  const sequences = sql.missingSequences && defaults.size ? await sql.missingSequences.call(sql, s, [...defaults.keys()]) : [];
  if (!missing.length && !sequences.length) return;
  const parts = [
    ...(missing.length ? [`type(s) ${missing.map((m) => `"${m}" (${types.get(m)!.join(', ')})`).join(', ')}`] : []),
    ...(sequences.length ? [`sequence(s) ${sequences.map((q) => `"${q.sequence}" (${defaults.get(q.expression)!.join(', ')})`).join(', ')}`] : []),
  ];
  // A whole database's backup carries them, but only its own DDL makes them: mode create, or replace into an empty database.
  const instead = wholeDdl ? 'restore into an empty database (the backup\'s own DDL makes them there)' : 'restore a backup of the whole database (it carries them)';
  throw new DbError('UNDEFINED_OBJECT', `${parts.join(' and ')} do not exist on "${t.config.name}": create them first, or ${instead}; nothing was restored`, { types: missing, sequences: sequences.map((q) => q.sequence) });
}

/**
 * A target that refuses tables without a primary key (a Galera cluster that requires them)
 * would fail at the first such CREATE, after mode replace had already dropped the old
 * tables (MySQL DDL commits): refused here, before anything is touched.
 */
async function refuseKeylessTables(s: Session, t: BackupTarget, plan: RestorePlan, mode: RestoreMode, existing: Set<TablePlan>): Promise<void> {
  const check = t.module.backup.portable.requiresPrimaryKey;
  const keyless = plan.tables.filter((tp) => !(mode === 'append' && existing.has(tp)) && !tp.table.columns.some((c) => c.primary_key));
  if (!check || !keyless.length || !(await check.call(t.module.backup.portable, s))) return;
  const names = keyless.map((tp) => tp.table.table);
  throw new DbError('UNSUPPORTED', `table(s) ${names.map((n) => `"${n}"`).join(', ')} have no primary key, and "${t.config.name}" refuses tables without one (a Galera cluster with wsrep_mode=REQUIRED_PRIMARY_KEY, or sql_require_primary_key); restore them elsewhere, or leave them out with \`tables\`; nothing was restored`, { tables: names, reason: 'primary_key_required' });
}

/** The batches without the values of the columns marked (the database computes them). */
async function* without(all: AsyncGenerator<LoadBatch>, dropped: boolean[]): AsyncGenerator<LoadBatch> {
  const width = dropped.filter((d) => !d).length;
  for await (const b of all) yield { json: null, width, rows: () => b.rows().map((r) => r.filter((_, k) => !dropped[k])) };
}

/** Auto-increment positions, for the tables this restore created (append leaves existing sequences alone). */
async function setSequences(s: Session, t: BackupTarget, plan: RestorePlan, created: TablePlan[]): Promise<void> {
  const sql = t.module.backup.portable;
  for (const tp of plan.tables) {
    if (!created.includes(tp)) continue;
    const seq = tp.entry.sequence ?? (plan.cross ? await pastRows(s, t, tp) : null);
    if (!seq || !tp.table.columns.some((c) => c.name === seq.column && c.auto_increment)) continue;
    for (const st of sql.writeSequence(tp.table, seq.column, seq.next, t.flavor)) await s.query(st.text, st.params);
  }
}

/**
 * Across backends, a key column that hands out the next key past the rows without a
 * recorded position (SQLite's INTEGER PRIMARY KEY without AUTOINCREMENT takes max + 1)
 * starts past the restored rows on the target too.
 */
async function pastRows(s: Session, t: BackupTarget, tp: TablePlan): Promise<{ column: string; next: string } | null> {
  const key = tp.table.columns.find((c) => c.auto_increment);
  if (!key) return null;
  const [row] = await s.query(`SELECT max(${t.flavor.quote(key.name)}) AS m FROM ${qualified(tp.table, t.flavor)}`);
  return row?.m === null || row?.m === undefined ? null : { column: key.name, next: (BigInt(String(row.m)) + 1n).toString() };
}

/**
 * A batch of row lines as one JSON text (one parse instead of one per row; a raw
 * newline only ever ends a line, since JSON escapes it in strings), each row through
 * the writers.
 */
function decode(lines: string, n: number, w: TablePlan['writers'], file: string, table: string, count: number): unknown[][] {
  let rows: unknown[][];
  try {
    rows = JSON.parse(`[${lines.replaceAll('\n', ',')}]`) as unknown[][];
  } catch {
    throw corrupt(file, `a row of table ${table} is not JSON`);
  }
  if (rows.length !== count) throw corrupt(file, `a batch of table ${table} holds ${rows.length} rows in ${count} lines`);
  const writes = w.some((x) => x !== null);
  for (const a of rows) {
    if (!Array.isArray(a) || a.length !== n) throw corrupt(file, `a row of table ${table} has ${Array.isArray(a) ? a.length : 0} values, ${n} expected`);
    if (writes) for (let k = 0; k < n; k++) if (a[k] !== null && w[k]) a[k] = w[k]!(a[k]);
  }
  return rows;
}

function lineCount(text: string): number {
  if (!text) return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * One table's rows for the target, decoded when the dialect asks (a batch whose values
 * load as parsed is also offered as its JSON lines); the count and content checksum
 * are checked at its end.
 */
async function* batches(records: AsyncGenerator<BackupRecord>, index: number, tp: TablePlan, m: Manifest, p: Progress, tally: { rows: number; last: number }): AsyncGenerator<LoadBatch> {
  const hash = createHash('sha256');
  const w = tp.writers;
  const n = w.length;
  let rows = 0;
  for (;;) {
    const r = await records.next();
    if (r.done) throw corrupt(m.file, `it ends inside table ${tp.entry.name}`);
    const rec = r.value;
    if (rec.kind === 'end') {
      const listed = m.tables[index];
      if (rec.table !== index || rec.rows !== rows || listed.rows !== rows) throw corrupt(m.file, `table ${tp.entry.name} has ${rows} rows, ${listed.rows} were backed up`);
      if (hash.digest('hex') !== listed.sha256) throw corrupt(m.file, `the content checksum of table ${tp.entry.name} differs from the manifest's`);
      return;
    }
    if (rec.kind !== 'rows') throw corrupt(m.file, `table ${tp.entry.name} is not closed`);
    // The bytes as read when the batch held only rows; re-encoded otherwise (a few batches a table).
    hash.update(rec.bytes ?? `${rec.text}\n`);
    const text = rec.text;
    const count = lineCount(text);
    rows += count;
    tally.rows += count;
    // A line count that differs from the rows decoded means a damaged batch: decode() says so.
    yield tp.skip.length
      // Generated columns: their values are checked with the rest but not loaded.
      ? { json: null, width: n - tp.skip.length, rows: () => decode(text, n, w, m.file, tp.entry.name, count).map((r) => r.filter((_, k) => !tp.skip.includes(k))) }
      : { json: tp.jsonLines ? text : null, width: n, rows: () => decode(text, n, w, m.file, tp.entry.name, count) };
    if (Date.now() - tally.last >= 1000) {
      tally.last = Date.now();
      await p.progress(tally.rows, m.rows ?? undefined, `${tp.entry.name}: ${rows} rows restored`);
    }
  }
}

