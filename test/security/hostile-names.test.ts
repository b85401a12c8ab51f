/**
 * Hostile identifiers in every tool that takes a table or column name, and hostile
 * paths in every tool that takes a file name, on every backend, read-only and
 * read-write. A name may legitimately become a (strangely named) table on a
 * read-write connection; what must never happen is that its text runs as SQL, that a
 * read-only connection changes anything, that a file appears outside the migrations
 * directory or a file outside it is read, or that the server fails with INTERNAL.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';
import { createFixture, listFiles, snapshot, type Fixture, type Snapshot } from './effects.js';

const IDENTIFIERS = [
  'victim; DROP TABLE victim_log', 'victim"; DROP TABLE victim_log; --', 'victim`; DROP TABLE victim_log; --',
  "victim'); DROP TABLE victim_log; --", 'victim]; DROP TABLE victim_log; --', '"victim"', '`victim`', '[victim]',
  'x\u0000y', 'a'.repeat(300), '\u202eevil', 'pg_catalog.pg_authid', 'mysql.user', 'information_schema.tables',
  'sqlite_master', 'main.victim', '../../etc/passwd', 'victim/*', '$$', 'U&"\\0076ictim"', 'victim\nDROP TABLE victim_log',
  '', 'Victim', 'victim\u00a0', "'", 'codomyrmex_migrations',
];

/** Paths an agent could hand to migration tools; the backup tools get these and BACKUP_PATHS. */
const PATHS = [
  '../../../../etc/passwd', '/etc/passwd', '..', '.', '', ' ', 'x\u0000.sql', '20240101000000_ok.sql/../../x.sql',
  '..%2f..%2fetc%2fhostname', 'C:\\Windows\\win.ini', '\\\\server\\share\\x.sql', 'evil_link', '20240101000001_link.sql',
  '20240101000001', '20240101000001_link', '~/.bashrc', '$(touch /tmp/cmx-pwned)', '`id`', 'a'.repeat(400),
];

/**
 * Backup file names (create_backup output_path, restore_backup backup_path), besides
 * PATHS. `@B` is the backup directory, `@O` the attack target directory outside it; in
 * the backup directory `link_out` is a symlink to @O/precious.cmx.gz (which exists),
 * `link_new` one to @O/new.cmx.gz (which does not), `link_passwd` one to /etc/passwd,
 * `link_dir` one to @O, and `existing.cmx.gz` a finished backup with its manifest.
 */
const BACKUP_PATHS = [
  '@O/out.cmx.gz', '@O/precious.cmx.gz', '@B/../out.cmx.gz', '@B/sub/x.cmx.gz', '@B/link_dir/x.cmx.gz', '@B/link_dir/precious.cmx.gz',
  '@B', '@B/', '/', '/etc/passwd', '/proc/self/environ', 'link_out', 'link_new', 'link_passwd', 'link_dir', 'link_dir/precious.cmx.gz',
  'existing.cmx.gz', 'existing.cmx.gz.manifest.json', 'x.manifest.json', '.hidden.cmx.gz', '.existing.cmx.gz.1.abc.tmp',
  'existing.cmx.gz\u0000.evil', '\u0000', 'b'.repeat(201), '\u00e9'.repeat(101), '\u202ezg.xmc.exe', '\ufb01le.cmx.gz',
  'existing.cmx.gz\u200b', 'existing.cmx.gz ', 'EXISTING.CMX.GZ', 'x\n.cmx.gz', '..\u2215..\u2215etc\u2215passwd', '\uff0e\uff0e/x',
  '%2e%2e%2fx.cmx.gz', 'CON', 'nul.cmx.gz',
];

interface Tally { inputs: number; calls: number; sideEffects: string[] }
const tally: Tally = { inputs: 0, calls: 0, sideEffects: [] };

describe.each(BACKENDS)('hostile names on $name', (backend: TestBackend) => {
  let f: Fixture;
  let h: Harness;
  let base: Snapshot;
  let hostname: string;
  const backupDir = tempDir('cmx-sec-bak-');

  beforeAll(async () => {
    f = await createFixture(backend);
    // A symlink and a link-named file in the migrations directory, pointing outside it.
    symlinkSync('/etc/passwd', join(f.migrationsDir, '20240101000001_link.sql'));
    symlinkSync('/etc', join(f.migrationsDir, 'evil_link'));
    hostname = 'root:x:0:0';
    const conn = { url: f.url, migrations_dir: f.migrationsDir, statement_timeout_ms: 10_000 };
    h = await startInProcess({ rw: conn, ro: { ...conn, read_only: true } }, { backup_dir: backupDir });
    // The backup directory's traps (BACKUP_PATHS), and a precious file outside it.
    writeFileSync(join(f.outDir, 'precious.cmx.gz'), 'precious');
    symlinkSync(join(f.outDir, 'precious.cmx.gz'), join(backupDir, 'link_out'));
    symlinkSync(join(f.outDir, 'new.cmx.gz'), join(backupDir, 'link_new'));
    symlinkSync('/etc/passwd', join(backupDir, 'link_passwd'));
    symlinkSync(f.outDir, join(backupDir, 'link_dir'));
    await mustCall(h.client, 'create_backup', { database: 'rw', output_path: 'existing.cmx.gz' });
    base = await snapshot(h, f);
  });

  afterAll(async () => {
    await h?.close();
    await f?.drop();
    rmSync(backupDir, { recursive: true, force: true });
  });

  const call = async (tool: string, args: Record<string, unknown>): Promise<string> => {
    tally.calls++;
    const r = await callTool(h.client, tool, args);
    const text = JSON.stringify(r.raw);
    if (!r.ok && r.error.code === 'INTERNAL') tally.sideEffects.push(`${backend.name} ${tool} ${JSON.stringify(args).slice(0, 200)}: INTERNAL ${r.error.message}`);
    if (hostname.length >= 4 && text.includes(hostname)) tally.sideEffects.push(`${backend.name} ${tool} ${JSON.stringify(args).slice(0, 200)}: a file outside the migrations directory was read`);
    return r.ok ? 'ok' : r.error.code;
  };

  /** The fixture must be intact (the name never ran as SQL); a read-only connection must have changed nothing at all. */
  const check = async (what: string, readOnly: boolean): Promise<void> => {
    const now = await snapshot(h, f);
    if (JSON.stringify(now.rows) !== JSON.stringify(base.rows)) tally.sideEffects.push(`${backend.name} ${what}: rows changed ${JSON.stringify(now.rows)}`);
    if (readOnly && now.schema !== base.schema) tally.sideEffects.push(`${backend.name} ${what}: schema changed through read-only (${base.schema} -> ${now.schema})`);
    const files = listFiles(f.watched).filter((x) => !/-(wal|shm|journal)$/.test(x) && !(x.startsWith(f.migrationsDir) && x.endsWith('.sql')));
    const before = base.files.filter((x) => !/-(wal|shm|journal)$/.test(x) && !(x.startsWith(f.migrationsDir) && x.endsWith('.sql')));
    if (JSON.stringify(files) !== JSON.stringify(before)) tally.sideEffects.push(`${backend.name} ${what}: files changed ${files.join(', ')}`);
    if (now.schema !== base.schema) await f.restore();
  };

  it('keeps identifiers identifiers in get_schema, create_table, alter_table, generate_schema', async () => {
    for (const name of IDENTIFIERS) {
      tally.inputs++;
      for (const connection of ['ro', 'rw']) {
        await call('get_schema', { connection, table: name });
        const created = await call('create_table', { connection, schema: { table: name, columns: [{ name: 'a', type: 'integer' }] } });
        if (connection === 'ro' && created === 'ok') tally.sideEffects.push(`${backend.name} create_table ${JSON.stringify(name)} succeeded on read-only`);
        await call('alter_table', { connection, table: 'victim', changes: { add_columns: [{ name, type: 'text' }] } });
        // SQLite rebuilds a table per ALTER (a fresh host each time): a quarter of the names there keeps the file quick.
        if (connection === 'rw' && tally.inputs % (backend.name === 'sqlite' ? 4 : 2) === 0) {
          // A read-only connection refuses these before looking at the names: only read-write reaches the DDL.
          await call('create_table', { connection, schema: { table: 'cmx_hostile_cols', columns: [{ name, type: 'integer' }] } });
          if (tally.inputs % 8 === 0) await call('create_table', { connection, record_migration: true, schema: { table: `cmx_mig_${tally.inputs}`, columns: [{ name: 'a', type: 'text', comment: name, default: name }] } });
          await call('alter_table', { connection, table: name, changes: { add_columns: [{ name: 'b', type: 'text' }] } });
          await call('alter_table', { connection, table: 'victim', changes: { rename_columns: [{ from: 'v', to: name }] } });
        }
        await check(`${connection} ${JSON.stringify(name)}`, connection === 'ro');
      }
      await call('generate_schema', { model: { [name]: 'text', ok: 'integer' }, table: name, all_backends: true });
    }
    await check('identifiers', false);
    expect(tally.sideEffects).toEqual([]);
  }, 240_000);

  /** Every entry of the backup directory: its kind and, for files, a hash of the content. */
  const backupFiles = (): Map<string, string> => new Map(readdirSync(backupDir).map((n) => {
    const st = lstatSync(join(backupDir, n));
    return [n, st.isFile() ? createHash('sha256').update(readFileSync(join(backupDir, n))).digest('hex').slice(0, 16) : st.isSymbolicLink() ? 'symlink' : 'other'];
  }));

  it('keeps backup paths inside the backup directory and overwrites nothing', async () => {
    const before = backupFiles();
    for (const template of [...PATHS, ...BACKUP_PATHS]) {
      const p = template.replace('@B', backupDir).replace('@O', f.outDir);
      tally.inputs++;
      for (const connection of ['ro', 'rw']) {
        const created = await call('create_backup', { database: connection, output_path: p });
        // Names that would pass for another, or break a listing's lines, are refused outright.
        if (/[\u0000-\u001f\u200b\u202e]/u.test(p) || p.trim() !== p) {
          if (created !== 'INVALID_INPUT') tally.sideEffects.push(`${backend.name} ${connection} create_backup ${JSON.stringify(p)}: ${created}, not refused`);
        }
        await call('restore_backup', { database: connection, backup_path: p, mode: 'append' });
        await call('restore_backup', { database: connection, backup_path: p, mode: 'replace', allow_lossy: true });
        await call('list_backups', { database: connection, verify: true });
        const now = backupFiles();
        for (const [name, kind] of before) if (now.get(name) !== kind) tally.sideEffects.push(`${backend.name} ${connection} backup path ${JSON.stringify(p)}: ${name} changed (${kind} -> ${now.get(name)})`);
        const added = [...now.keys()].filter((n) => !before.has(n));
        // A plain new name is a legitimate backup, written as a regular file with its manifest, and nothing else.
        if (added.length && (created !== 'ok' || added.some((n) => now.get(n) === 'symlink' || now.get(n) === 'other' || n.startsWith('.')))) {
          tally.sideEffects.push(`${backend.name} ${connection} backup path ${JSON.stringify(p)}: ${created}, and the backup directory gained ${JSON.stringify(added)}`);
        }
        for (const n of added) rmSync(join(backupDir, n), { force: true });
        if (readFileSync(join(f.outDir, 'precious.cmx.gz'), 'utf8') !== 'precious') tally.sideEffects.push(`${backend.name} backup path ${JSON.stringify(p)}: a file outside the backup directory was overwritten`);
        await check(`${connection} backup path ${JSON.stringify(p)}`, connection === 'ro');
      }
    }
    await check('backup paths', false);
    expect(tally.sideEffects).toEqual([]);
  }, 240_000);

  it('keeps migration paths inside the migrations directory', async () => {
    for (const p of PATHS) {
      tally.inputs++;
      for (const connection of ['ro', 'rw']) {
        await call('run_migration', { connection, migration_file: p });
        await call('run_migration', { connection, migration_file: p, dry_run: true });
        await call('rollback_migration', { connection, migration_id: p });
        await call('repair_migration', { connection, migration_id: p, action: 'mark_applied' });
        await call('create_migration', { connection, name: p, up: 'SELECT 1;' });
        await call('get_migration_status', { connection });
        await call('list_migrations', { connection });
        await check(`${connection} path ${JSON.stringify(p)}`, connection === 'ro');
      }
    }
    // The migrations directory holds a symlink to /etc/passwd: listed as a problem, never run or read.
    await check('paths', false);
    expect(tally.sideEffects).toEqual([]);
  }, 240_000);
});

afterAll(() => {
  console.error(`[security] hostile names: inputs tried ${tally.inputs}, tool calls ${tally.calls}, side effects found ${tally.sideEffects.length}`);
  for (const e of tally.sideEffects.slice(0, 10)) console.error(`[security]   ${e}`);
});
