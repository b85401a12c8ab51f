/**
 * Migrations on disk: reading, checksumming and creating migration files.
 * Pure fs + crypto, no database, so the file format is testable on its own.
 *
 * Two conventions, mixable in one directory:
 *   <version>_<name>.sql            with `-- migrate:up` / `-- migrate:down` sections
 *   <version>_<name>.up.sql (+ .down.sql, optional)
 * Markers are whole lines; any other `-- migrate:` line is refused rather than
 * read as a comment, because a misspelt `-- migrate:down` would otherwise put
 * the rollback inside the up section and run it forwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { DbError } from '../../errors.js';
import { BACKEND_NAMES, backendModule } from '../backends/lookup.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import { splitStatements } from '../sql.js';

export interface MigrationFile {
  /** Numeric version (integer or UTC timestamp); migrations run in ascending order. */
  version: bigint;
  /** The version exactly as spelt in the file name (leading zeros kept). */
  versionText: string;
  /** The part after the first `_`: [a-z0-9_]+. */
  name: string;
  /** Text of the up section (or the whole .up.sql), never without a statement. */
  up: string;
  /** Text of the down section; null when absent or without statements: it cannot be rolled back. */
  down: string | null;
  /** `-- migrate:no-transaction` was given: run outside a transaction (e.g. CREATE INDEX CONCURRENTLY). */
  noTransaction: boolean;
  /**
   * `-- migrate:foreign-keys-off` was given (SQLite): foreign key enforcement is off while
   * the migration runs, as SQLite's table-rebuild procedure requires, and a
   * foreign_key_check must pass before it commits. Other backends ignore it.
   */
  foreignKeysOff: boolean;
  /** checksumOf(up). The header and the down section are not part of it. */
  checksum: string;
  /** File names, relative to the directory, the migration was read from (up first). */
  files: string[];
  /**
   * Written by create_migration (its first line is AGENT_MARKER): agent SQL, so every
   * statement passes the escape checks of agent statements before it runs (§4.2).
   */
  agentWritten: boolean;
}

/** The first line of every file create_migration writes; the agent's text comes only after it. */
export const AGENT_MARKER = '-- codomyrmex-db: written by create_migration (agent SQL: escape checks apply)';

const FILE = /^(\d+)_(.*?)(\.up|\.down)?\.sql$/;
/** Real folders use dots, dashes and capitals (`000056_upgrade_channels_v6.0.up.sql`, `000089_add-channelid-to-reaction.up.sql`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** `1_a.UP.sql`: a section suffix in the wrong case would silently make a single-file migration. */
const SUFFIX_LIKE = /\.(up|down)$/i;
const NEW_NAME = /^[a-z][a-z0-9_]{0,99}$/;
const MARKER_LIKE = /^[ \t]*--[ \t]*migrate:/i;
const MARKER = /^[ \t]*--[ \t]*migrate:(up|down|no-transaction|foreign-keys-off)[ \t]*$/i;
// History tables store the version as a signed 64-bit integer.
const MAX_VERSION = 2n ** 63n - 1n;

type Section = 'header' | 'up' | 'down';
type Marker = 'up' | 'down' | 'no-transaction' | 'foreign-keys-off';

interface Entry {
  file: string;
  version: bigint;
  versionText: string;
  name: string;
  kind: 'single' | 'up' | 'down';
}

function invalid(file: string, message: string, extra: Record<string, unknown> = {}): DbError {
  return new DbError('INVALID_INPUT', `migration file ${file}: ${message}`, { file, ...extra });
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

// ------------------------------------------------------------------ reading

/** Every migration in `dir`, sorted by version. A missing directory has none. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = (await listDir(dir)).map(classify).filter((e): e is Entry => e !== null);
  const out: MigrationFile[] = [];
  // One at a time: a directory of thousands must not exhaust file descriptors.
  for (const { up, down } of pair(entries)) out.push(await load(dir, up, down));
  return out.sort((a, b) => (a.version < b.version ? -1 : 1));
}

async function listDir(dir: string): Promise<string[]> {
  try {
    // Sorted so errors (which duplicate is named first) do not depend on the filesystem.
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new DbError('INVALID_INPUT', `migrations directory ${dir} is not a directory`, { dir });
    if (code === 'EACCES' || code === 'EPERM') throw new DbError('PERMISSION_DENIED', `cannot read migrations directory ${dir}`, { dir });
    throw err;
  }
}

/** The entry a file name stands for, null for files that are not migrations. */
function classify(file: string): Entry | null {
  if (file.startsWith('.') || !/\.sql$/i.test(file)) return null;
  const m = FILE.exec(file);
  if (!m) {
    // Starts like a migration (`1-init.sql`, `20240101.sql`, `1_a.SQL`): silently skipping it would lose it.
    if (/^\d/.test(file)) throw invalid(file, 'looks like a migration but is not named <version>_<name>.sql, .up.sql or .down.sql');
    return null;
  }
  const [, versionText, name, suffix] = m;
  if (!NAME.test(name)) throw invalid(file, `name "${name}" may only contain letters A-Z and a-z, digits, _, - and ., and must start with a letter or digit`);
  if (SUFFIX_LIKE.test(name)) throw invalid(file, `name "${name}" ends like a section suffix; write .up.sql or .down.sql in lower case`);
  const version = BigInt(versionText);
  if (version > MAX_VERSION) throw invalid(file, `version ${versionText} does not fit in a 64-bit integer`);
  const kind = suffix === '.up' ? 'up' : suffix === '.down' ? 'down' : 'single';
  return { file, version, versionText, name, kind };
}

/** Groups entries into migrations: one version, one up; a .down.sql only beside its own .up.sql. */
function pair(entries: Entry[]): Array<{ up: Entry; down: Entry | null }> {
  const byVersion = new Map<bigint, { up: Entry; down: Entry | null }>();
  for (const e of entries.filter((x) => x.kind !== 'down')) {
    const seen = byVersion.get(e.version);
    if (seen) {
      const files = [seen.up.file, e.file];
      throw invalid(e.file, `version ${e.versionText} is also used by ${seen.up.file}`, { files });
    }
    byVersion.set(e.version, { up: e, down: null });
  }
  for (const d of entries.filter((x) => x.kind === 'down')) {
    const upFile = `${d.versionText}_${d.name}.up.sql`;
    const g = byVersion.get(d.version);
    if (!g || g.up.file !== upFile) throw invalid(d.file, `has no matching ${upFile}`);
    g.down = d;
  }
  return [...byVersion.values()];
}

async function load(dir: string, up: Entry, down: Entry | null): Promise<MigrationFile> {
  const start: Section = up.kind === 'single' ? 'header' : 'up';
  const text = await readRegular(dir, up.file);
  const parsed = readSections(text, up.file, start);
  const downText = down ? readSections(await readRegular(dir, down.file), down.file, 'down').down : parsed.down;
  const upText = parsed.up ?? '';
  if (noStatements(upText)) throw invalid(up.file, 'the up section has no statements');
  return {
    version: up.version,
    versionText: up.versionText,
    name: up.name,
    up: upText,
    down: downText === null || noStatements(downText) ? null : downText,
    noTransaction: parsed.noTransaction,
    foreignKeysOff: parsed.foreignKeysOff,
    checksum: checksumOf(upText),
    files: down ? [up.file, down.file] : [up.file],
    agentWritten: text.split(/\r?\n/, 1)[0]?.trimEnd() === AGENT_MARKER,
  };
}

/** Reads a regular file inside dir as strict UTF-8 (BOM dropped); never follows a symlink. */
async function readRegular(dir: string, file: string): Promise<string> {
  const full = path.join(dir, file);
  const notRegular = (): DbError => invalid(file, 'migration files must be regular files (not symlinks, directories or devices)');
  // lstat first: opening a FIFO would block, and a symlink could point anywhere.
  if (!(await fs.lstat(full)).isFile()) throw notRegular();
  // O_NOFOLLOW closes the gap between lstat and open (absent on Windows: 0).
  const handle = await fs.open(full, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)).catch((err: unknown) => {
    throw errno(err) === 'ELOOP' ? notRegular() : err;
  });
  const bytes = await handle.readFile().finally(() => handle.close());
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(file, 'is not valid UTF-8');
  }
}

/**
 * Splits a file into sections. `start` is where its text begins: 'header' for
 * a single file (which needs the up/down markers), 'up' or 'down' for a pair
 * file (where those markers are refused: there is nothing to switch to).
 */
interface Sections { up: string | null; down: string | null; noTransaction: boolean; foreignKeysOff: boolean }

function readSections(text: string, file: string, start: Section): Sections {
  const body: Record<Section, string | null> = { header: '', up: null, down: null };
  body[start] = '';
  let at = start;
  let noTransaction = false;
  let foreignKeysOff = false;
  const lines = linesOf(text);
  for (const [i, line] of lines.entries()) {
    const marker = markerOf(line, file, i + 1);
    if (marker === 'up' || marker === 'down') {
      at = enter(at, marker, start, file, i + 1);
      body[at] = '';
      continue;
    }
    if (marker === 'no-transaction' || marker === 'foreign-keys-off') {
      if (at === 'down') throw invalid(file, `-- migrate:${marker} belongs in the header or the up section`, { line: i + 1 });
      if (marker === 'no-transaction') noTransaction = true;
      else foreignKeysOff = true;
    } else if (at === 'header' && !/^\s*(--.*)?$/.test(bare(line))) {
      // Plain SQL with no markers at all is better told what is missing.
      if (!lines.some((l) => MARKER.exec(bare(l))?.[1].toLowerCase() === 'up')) break;
      throw invalid(file, 'only blank lines and -- comments may come before -- migrate:up', { line: i + 1 });
    }
    body[at] = (body[at] ?? '') + line;
  }
  if (start === 'header' && body.up === null) throw invalid(file, 'has no -- migrate:up line (or name it <version>_<name>.up.sql)');
  if (noTransaction && foreignKeysOff) throw invalid(file, '-- migrate:foreign-keys-off needs the migration\'s transaction: it cannot be combined with -- migrate:no-transaction');
  return { up: body.up, down: body.down, noTransaction, foreignKeysOff };
}

function enter(at: Section, marker: 'up' | 'down', start: Section, file: string, line: number): Section {
  const fail = (why: string): DbError => invalid(file, why, { line });
  if (start !== 'header') throw fail(`-- migrate:${marker} is for single-file migrations, not .up.sql/.down.sql files`);
  if (marker === 'up' && at !== 'header') throw fail('a second -- migrate:up');
  if (marker === 'down' && at === 'header') throw fail('-- migrate:down comes before -- migrate:up');
  if (marker === 'down' && at === 'down') throw fail('a second -- migrate:down');
  return marker;
}

function markerOf(line: string, file: string, n: number): Marker | null {
  const text = bare(line);
  if (!MARKER_LIKE.test(text)) return null;
  const m = MARKER.exec(text);
  if (!m) throw invalid(file, `unknown marker "${text.trim()}" (expected -- migrate:up, -- migrate:down, -- migrate:no-transaction or -- migrate:foreign-keys-off)`, { line: n });
  return m[1].toLowerCase() as Marker;
}

const bare = (line: string): string => line.replace(/[\r\n]+$/, '');

/** Lines with their terminators, so a section's text is exactly what the file holds. */
const linesOf = (text: string): string[] => text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];

/**
 * True when no backend finds a statement: comments and whitespace only, nothing would run
 * anywhere. A backend's refusal (a DELIMITER line without a value) counts only when no
 * backend finds a statement.
 */
function noStatements(sql: string): boolean {
  let refusal: unknown;
  for (const name of BACKEND_NAMES) {
    try {
      if (splitStatements(sql, backendModule(name).sql).length > 0) return false;
    } catch (err) {
      refusal ??= err;
    }
  }
  if (refusal !== undefined) throw refusal;
  return true;
}

// --------------------------------------------------------------- checksums

/**
 * SHA-256 (hex) of the normalised up section: BOM dropped, CRLF/CR as LF,
 * trailing whitespace cut from each line, blank lines at either end dropped.
 * A checkout with other line endings or an editor trimming spaces keeps the
 * checksum; any other change, even inside a string literal, alters it.
 */
export function checksumOf(up: string): string {
  const lines = up.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/).map((l) => l.trimEnd());
  let from = 0;
  let to = lines.length;
  while (from < to && lines[from] === '') from++;
  while (to > from && lines[to - 1] === '') to--;
  return createHash('sha256').update(lines.slice(from, to).join('\n'), 'utf8').digest('hex');
}

/**
 * The statements of a section, in order, for the given flavour.
 * splitStatements already drops comment-only statements (a trailing
 * `-- done` or the no-transaction marker never reaches a driver) and reads
 * DELIMITER lines where the backend has them; lines only the backend's own
 * client reads (psql's `\restrict`) go first (SqlSupport.scriptText).
 */
export function statementsOf(sql: string, flavor: SqlSupport): string[] {
  return splitStatements(flavor.scriptText ? flavor.scriptText(sql) : sql, flavor);
}

// ---------------------------------------------------------------- creating

/**
 * Writes `<version>_<name>.sql` in dir (created if missing) and returns its
 * name and version. The version is the UTC time as YYYYMMDDHHMMSS, or one
 * more than the highest version in `existingVersions` or already on disk if
 * the clock is not ahead of it. Never overwrites (DUPLICATE_OBJECT); never
 * leaves a partial file under the final name.
 */
export async function createMigrationFile(
  dir: string,
  name: string,
  up: string,
  down: string | null,
  existingVersions: bigint[],
): Promise<{ file: string; version: string }> {
  if (!NEW_NAME.test(name)) {
    const shown = name.length > 120 ? name.slice(0, 120) + '…' : name;
    throw new DbError('INVALID_INPUT', `migration name ${JSON.stringify(shown)} must match ^[a-z][a-z0-9_]{0,99}$`, { name: shown });
  }
  checkBody(up, 'up');
  if (down !== null) checkBody(down, 'down');
  await fs.mkdir(dir, { recursive: true });
  const version = nextVersion(new Date(), [...existingVersions, ...(await versionsOnDisk(dir))]);
  const file = `${version}_${name}.sql`;
  await writeExclusive(dir, file, render(up, down));
  return { file, version: version.toString() };
}

/** Refuses text the file format would misread, before anything is written. */
function checkBody(sql: string, what: 'up' | 'down'): void {
  linesOf(sql).forEach((line, i) => {
    const text = bare(line);
    if (!MARKER_LIKE.test(text)) return;
    if (what === 'up' && ['no-transaction', 'foreign-keys-off'].includes(MARKER.exec(text)?.[1].toLowerCase() ?? '')) return;
    throw new DbError('INVALID_INPUT', `${what} must not contain "-- migrate:" lines (line ${i + 1}); the file format adds them`, { line: i + 1 });
  });
  if (noStatements(sql)) {
    const hint = what === 'down' ? ': leave down out if this migration cannot be rolled back' : '';
    throw new DbError('INVALID_INPUT', `${what} has no statements${hint}`, {});
  }
}

function nextVersion(now: Date, existing: bigint[]): bigint {
  const stamp = BigInt(now.toISOString().replace(/\D/g, '').slice(0, 14));
  const max = existing.reduce((a, b) => (b > a ? b : a), -1n);
  const version = stamp > max ? stamp : max + 1n;
  if (version > MAX_VERSION) throw new DbError('INVALID_INPUT', `next migration version ${version} does not fit in a 64-bit integer`, {});
  return version;
}

/** Versions of files already in dir, valid or not: a new file must sort after all of them. */
async function versionsOnDisk(dir: string): Promise<bigint[]> {
  const names = await fs.readdir(dir);
  return names.flatMap((n) => {
    const m = /^(\d+)_/.exec(n);
    return m ? [BigInt(m[1])] : [];
  });
}

function render(up: string, down: string | null): string {
  const header = `${AGENT_MARKER}\n${down === null ? '-- No down section: this migration cannot be rolled back.\n' : ''}`;
  const downPart = down === null ? '' : `\n-- migrate:down\n${down.trim()}\n`;
  return `${header}-- migrate:up\n${up.trim()}\n${downPart}`;
}

/**
 * Writes a hidden temp file (ignored by readMigrations if a crash leaves it),
 * syncs it, then hard-links it to the final name: link, unlike rename, fails
 * when the name exists, so the file appears whole or not at all and an
 * existing one is never replaced.
 */
async function writeExclusive(dir: string, file: string, text: string): Promise<void> {
  const tmp = path.join(dir, `.${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.link(tmp, path.join(dir, file));
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new DbError('DUPLICATE_OBJECT', `migration file ${file} already exists`, { file }, { cause: err });
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
