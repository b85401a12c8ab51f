/**
 * sqlite: native backups (contract/backup.ts NativeBackup). A byte copy of the database
 * file frozen in our snapshot, else the online backup API in one step inside it
 * (Session.file); restored by writing the file over an empty database (./backup-file.ts),
 * else by copying tables (and views and the header's numbers) from the attached file.
 */
import { DbError } from '../../../errors.js';
import type { Session } from '../../dialect.js';
import type { Counted, Dumped, NativeBackup, NativeDump, NativeRestore } from '../contract/backup.js';
import { HEADER_FIELDS } from './backup-ddl.js';
import { copyImage, writeOverEmpty } from './backup-file.js';

/** Large enough to map a whole database (SQLite's mmap_size ceiling here). */
const MMAP_BYTES = 0x7fff0000;

/**
 * One read snapshot, with the row counts read in it. When the database file itself is
 * that snapshot, frozen until it ends (DatabaseFile.freeze: after a checkpoint, the
 * usual case), its bytes are copied and hashed in one pass here, the hash on this
 * thread while libuv's reads and writes run beside it; otherwise the online backup API
 * in the host copies it (the hash is then a second pass, in the manager).
 */
async function dump(job: NativeDump): Promise<Dumped> {
  if (job.named?.length) throw new DbError('INVALID_INPUT', 'a native SQLite backup copies the whole database: leave out `tables` (or use format "portable")', { field: 'tables' });
  return job.session(async (s) => {
    if (!s.file) throw new DbError('UNSUPPORTED', 'an in-memory SQLite database has no file to back up natively: use format "portable"');
    await s.file.checkpoint();
    await s.snapshot();
    const tables = await job.tables(s);
    const quoted = tables.map((x) => job.names.quote(x.table));
    const frozen = await s.file.freeze(quoted, job.signal);
    await job.progress(0, frozen.image?.bytes, frozen.image ? 'copying the database file' : 'SQLite online backup running');
    const image = frozen.image;
    const digest = image
      ? await copyImage(image, job.file.handle, { signal: job.signal, progress: (bytes) => job.progress(bytes, image.bytes, `copying the database file: ${bytes} of ${image.bytes} bytes`) })
      : undefined;
    // The copy holds only while the host kept its read transaction (and lock): had the
    // host died during it, the session's next host has none, and freeze refuses.
    if (image) await s.file.freeze([], job.signal);
    const rows = frozen.image ? frozen.rows : await s.file.backup(job.file.tmp, quoted, job.signal);
    await s.rollback();
    return { tables: tables.map((x, i) => ({ name: x.table, rows: rows[i] })), digest };
  }, { readsOnly: true });
}

/**
 * Into an empty database that no other connection has open (the usual target of a
 * restore): the file itself, verified while it is written (./backup-file.ts). Otherwise
 * (append, tables in the target, other connections): table by table.
 */
async function restore(job: NativeRestore): Promise<Counted | null> {
  const counted = job.mode !== 'append' ? await restoreWholeFile(job) : null;
  if (counted) return counted;
  await job.verify();
  await copyTables(job);
  return null;
}

/** The row counts when the backup was written over the (empty, locked) target; null when it could not be, with nothing changed. */
async function restoreWholeFile(job: NativeRestore): Promise<Counted | null> {
  return job.session(async (s) => {
    if (!s.file) return null;
    const target = await s.file.takeOver();
    if ('reason' in target) return null;
    let written: boolean;
    try {
      const size = job.backup.size;
      await job.progress(0, size, 'writing the database file');
      const expected = { size, sha256: job.backup.sha256, damaged: (why: string) => job.damaged(why) };
      written = await writeOverEmpty(job.path, expected, target, { signal: job.signal, progress: (bytes) => job.progress(bytes, size, `writing the database file: ${bytes} of ${size} bytes`) });
    } finally {
      await s.file.release();
    }
    if (!written) return null;
    // Counted on the fresh handle, the file memory-mapped for the count (a read() per page otherwise).
    await s.run([`PRAGMA mmap_size = ${MMAP_BYTES}`]);
    try {
      const out: Counted = [];
      for (const x of job.backup.tables) {
        const [row] = await s.query(`SELECT count(*) AS n FROM ${job.names.quote(x.name)}`);
        out.push({ name: x.name, rows: Number(row?.n) });
      }
      return out;
    } finally {
      await s.run(['PRAGMA mmap_size = 0']);
    }
    // Nothing of ours is left in the session (release opened the file afresh, mmap is
    // reset): the host is kept, so the next call needs no new one.
  }, { readsOnly: true });
}

/** Copies every table of the backup file (attached) into the database, in one transaction. */
async function copyTables(job: NativeRestore): Promise<void> {
  const { mode, names } = job;
  await job.session(async (s) => {
    await s.run([`ATTACH DATABASE ${names.string(job.path)} AS cmx_restore_src`]);
    const fk = await s.setForeignKeys(false);
    try {
      const schema = await s.query("SELECT type, name, tbl_name, sql FROM cmx_restore_src.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type = 'table' DESC, rowid");
      const tables = schema.filter((x) => x.type === 'table');
      await s.begin();
      for (const x of tables) {
        const q = names.quote(String(x.name));
        const exists = (await s.query('SELECT 1 FROM main.sqlite_schema WHERE type = \'table\' AND name = ?', [x.name])).length > 0;
        if (exists && mode === 'replace') await s.run([`DROP TABLE main.${q}`]);
        if (!exists || mode === 'replace') {
          await s.run([String(x.sql), ...schema.filter((y) => y.type !== 'table' && y.type !== 'view' && String(y.tbl_name).toLowerCase() === String(x.name).toLowerCase()).map((y) => String(y.sql))]);
        }
        // The stored columns by name: SELECT * also gives generated columns, which INSERT takes no value for.
        const stored = (await s.query('SELECT name FROM pragma_table_xinfo(?, \'cmx_restore_src\') WHERE hidden = 0 ORDER BY cid', [x.name])).map((c) => names.quote(String(c.name))).join(', ');
        await s.run([`INSERT INTO main.${q} (${stored}) SELECT ${stored} FROM cmx_restore_src.${q}`], undefined, job.signal);
      }
      if (mode !== 'append') await copyViewsAndHeader(s, job, schema);
      const seq = await s.query("SELECT 1 FROM cmx_restore_src.sqlite_schema WHERE name = 'sqlite_sequence'");
      if (seq.length && mode !== 'append') {
        await s.run([
          'DELETE FROM main.sqlite_sequence WHERE name IN (SELECT name FROM cmx_restore_src.sqlite_sequence)',
          'INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM cmx_restore_src.sqlite_sequence',
        ]);
      }
      if (await s.foreignKeyViolations()) throw new DbError('CONSTRAINT_VIOLATION', 'the restored rows break a foreign key; nothing was restored');
      await s.commit();
    } finally {
      await s.setForeignKeys(fk).catch(() => undefined);
      await s.run(['DETACH DATABASE cmx_restore_src']).catch(() => undefined);
    }
  }, { readsOnly: false });
}

/**
 * What a table copy leaves out and the file carries: the views (each after every table,
 * in the order the source made them, a view of the same name replaced in mode replace;
 * SQLite resolves a view's tables when it is read), the triggers on them, and the two
 * numbers of the file's header an application keeps there (`user_version`, read by
 * migration tools, and `application_id`).
 */
async function copyViewsAndHeader(s: Session, job: NativeRestore, schema: Array<Record<string, unknown>>): Promise<void> {
  for (const v of schema.filter((y) => y.type === 'view')) {
    const [had] = await s.query('SELECT type FROM main.sqlite_schema WHERE name = ?', [v.name]);
    if (had?.type === 'view' && job.mode === 'replace') await s.run([`DROP VIEW main.${job.names.quote(String(v.name))}`]);
    // A trigger may name its view in another case (SQLite keeps tbl_name as the trigger wrote it).
    await s.run([String(v.sql), ...schema.filter((y) => y.type === 'trigger' && String(y.tbl_name).toLowerCase() === String(v.name).toLowerCase()).map((y) => String(y.sql))]);
  }
  for (const pragma of HEADER_FIELDS) {
    const [row] = await s.query(`PRAGMA cmx_restore_src.${pragma}`);
    await s.run([`PRAGMA main.${pragma} = ${Math.trunc(Number(Object.values(row ?? {})[0] ?? 0))}`]);
  }
}

export const native: NativeBackup = {
  format: 'sqlite-database',
  extension: 'sqlite',
  hashesWhileCopying: true,
  appends: true,
  dump,
  restore,
};
