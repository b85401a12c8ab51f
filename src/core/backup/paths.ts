/**
 * Backup files live directly in the configured backup_dir, nowhere else: a name is
 * one path component (or an absolute path whose directory is backup_dir), never a
 * dot file (temporaries are), never a symlink, never `..`. New files are written to
 * a hidden temporary, synced, and hard-linked to their name: link fails when the
 * name exists, so a backup appears whole or not at all and never replaces a file.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, type WriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { DbError } from '../../errors.js';

export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * What a backup name may hold, as an allow-list over the NFC form (SPEC §17.4): letters,
 * decimal digits, a space between other characters, and `- _ . + @ , = ( ) [ ] ~`.
 * Everything else is refused, which is what keeps names that pass for another out:
 * controls, format and zero-width characters, bidirectional controls, variation selectors,
 * tag characters, Hangul fillers (letters that show as nothing: default-ignorable),
 * unassigned, private-use, noncharacters, lone surrogates, other spaces and symbols.
 */
const NAME_CHAR = /^(?:[\p{L}\p{Nd}]|[-_.+@,=()[\]~ ])$/u;
/** Letters and marks that show nothing (U+115F, U+1160, U+3164, U+FFA0, U+034F …). */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/**
 * A combining mark NFC did not absorb is allowed only when it belongs to a script that
 * writes with marks (Indic vowel signs, Thai …: `हिंदी` needs them) and follows a letter
 * or mark of that same script. Inherited marks (U+0300…, variation selectors, U+034F)
 * stack on any letter, and are refused.
 */
const MARK_SCRIPT_NAMES = [
  'Arabic', 'Balinese', 'Bengali', 'Brahmi', 'Buginese', 'Chakma', 'Cham', 'Devanagari', 'Ethiopic', 'Grantha', 'Gujarati', 'Gurmukhi',
  'Hebrew', 'Javanese', 'Kaithi', 'Kannada', 'Khmer', 'Lao', 'Lepcha', 'Limbu', 'Malayalam', 'Meetei_Mayek', 'Myanmar', 'Newa', 'Oriya',
  'Saurashtra', 'Sharada', 'Sinhala', 'Sundanese', 'Syriac', 'Tai_Tham', 'Tai_Viet', 'Takri', 'Tamil', 'Telugu', 'Thaana', 'Thai',
  'Tibetan', 'Tirhuta', 'Batak', 'Tagalog', 'Hanunoo', 'Buhid', 'Tagbanwa', 'Ol_Chiki', 'Samaritan', 'Mandaic', 'Nko',
];
/** Built on first use: 150 Unicode-property patterns cost about 4 ms, at every start-up otherwise. */
let markScripts: Array<{ mark: RegExp; base: RegExp; same: RegExp }> | undefined;

function scriptMarkAfter(mark: string, prev: string): boolean {
  markScripts ??= MARK_SCRIPT_NAMES.map((s) => ({ mark: new RegExp(`^(?=\\p{M})\\p{Script=${s}}$`, 'u'), base: new RegExp(`^[\\p{L}\\p{M}]$`, 'u'), same: new RegExp(`^\\p{Script_Extensions=${s}}$`, 'u') }));
  const script = markScripts.find((s) => s.mark.test(mark));
  return script !== undefined && script.base.test(prev) && script.same.test(prev);
}
const PUNCTUATION = '- _ . + @ , = ( ) [ ] ~';

const codePoint = (ch: string): string => `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;

/** The first character of an NFC name that the allow-list refuses, or null. */
export function refusedChar(name: string): string | null {
  let prev = '';
  for (const ch of name) {
    const ok = !INVISIBLE.test(ch) && (NAME_CHAR.test(ch) || scriptMarkAfter(ch, prev));
    if (!ok) return ch;
    if (ch === ' ' && prev === ' ') return ch;
    prev = ch;
  }
  return null;
}

const NFC = (s: string): string => s.normalize('NFC');

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

function refuse(field: string, message: string): DbError {
  return new DbError('INVALID_INPUT', message, { field });
}

/**
 * mkdir -p that fails with the real cause. Node's recursive mkdir answers ENOENT when a
 * missing level cannot be created on a read-only file system (EROFS) or without
 * permission: the level below the nearest existing ancestor is made alone to learn why.
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    let child = path.resolve(dir);
    let parent = path.dirname(child);
    while (parent !== child && !(await fs.lstat(parent).then(() => true, () => false))) [child, parent] = [parent, path.dirname(parent)];
    await fs.mkdir(child);
    throw err;
  }
}

/** backup_dir with symlinks resolved; created (with parents) when `create`. Null when it does not exist. */
export async function realBackupDir(dir: string, create: boolean): Promise<string | null> {
  if (create) await makeDirs(dir);
  try {
    const real = await fs.realpath(dir);
    if (!(await fs.stat(real)).isDirectory()) throw new DbError('INVALID_INPUT', `backup_dir ${dir} is not a directory`, { dir });
    return real;
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The file name a user's path stands for, checked to lie directly in `realDir`: its NFC
 * form, checked against the allow-list. For an existing backup (`existing`), a file whose
 * name is exactly the given one wins, so files named in another normal form (copied in by
 * hand) stay restorable by the name list_backups shows.
 */
export async function backupName(realDir: string, given: string, field: string, existing = false): Promise<string> {
  if (given.includes('\u0000')) throw refuse(field, `${field} may not contain a NUL character`);
  let name = given;
  if (path.isAbsolute(given)) {
    const parent = await fs.realpath(path.dirname(given)).catch(() => null);
    if (parent !== realDir) throw refuse(field, `${field} must name a file directly in the backup directory (${realDir})`);
    name = path.basename(given);
  }
  if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') {
    throw refuse(field, `${field} must be a file name in the backup directory, without directories or ".."`);
  }
  const nfc = NFC(name);
  checkNameChars(nfc, field);
  if (nfc.startsWith('.')) throw refuse(field, `${field} may not start with "." (hidden names are the server's temporary files)`);
  if (nfc.endsWith(MANIFEST_SUFFIX)) throw refuse(field, `${field} may not end with ${MANIFEST_SUFFIX} (manifests are written beside each backup)`);
  if (Buffer.byteLength(nfc) > 200) throw refuse(field, `${field} is longer than 200 bytes`);
  if (existing && nfc !== name && (await fs.lstat(path.join(realDir, name)).then(() => true, () => false))) return name;
  return nfc;
}

function checkNameChars(nfc: string, field: string): void {
  if (nfc.trim() !== nfc || nfc.startsWith(' ') || nfc.endsWith(' ')) throw refuse(field, `${field} may not start or end with whitespace`);
  const bad = refusedChar(nfc);
  if (bad !== null) {
    throw new DbError('INVALID_INPUT', `${field} may hold letters, digits, single spaces inside and ${PUNCTUATION}; ${codePoint(bad)} is not allowed (a name must not pass for another)`, { field, code_point: codePoint(bad) });
  }
}

/**
 * Refuses a name whose data file or manifest exists (symlinks included), or a name that
 * normalises to one that exists: `é` typed as e + U+0301 must not stand beside `é`.
 */
export async function refuseExisting(realDir: string, name: string): Promise<void> {
  const wanted = new Set([NFC(name), NFC(name + MANIFEST_SUFFIX)]);
  for (const f of [name, name + MANIFEST_SUFFIX]) {
    const found = await fs.lstat(path.join(realDir, f)).then(() => true, (err) => (errno(err) === 'ENOENT' ? false : Promise.reject(err)));
    if (found) throw new DbError('DUPLICATE_OBJECT', `${f} already exists in the backup directory; backups are never overwritten`, { file: f });
  }
  const clash = (await fs.readdir(realDir)).find((f) => wanted.has(NFC(f)));
  if (clash !== undefined) throw new DbError('DUPLICATE_OBJECT', `a backup whose name differs from ${name} only in Unicode normal form exists (${JSON.stringify(clash)}); backups are never overwritten`, { file: clash });
}

/** An existing regular file in the directory (never through a symlink). */
export async function existingFile(realDir: string, name: string, what: string): Promise<string> {
  const full = path.join(realDir, name);
  const st = await fs.lstat(full).catch((err) => {
    if (errno(err) === 'ENOENT') throw new DbError('UNDEFINED_OBJECT', `no ${what} named ${name} in the backup directory`, { file: name });
    throw err;
  });
  if (st.isSymbolicLink()) throw new DbError('INVALID_INPUT', `${name} is a symlink; backups must be regular files in the backup directory`, { file: name });
  if (!st.isFile()) throw new DbError('INVALID_INPUT', `${name} is not a regular file`, { file: name });
  return full;
}

export interface PendingFile {
  /** The hidden temporary being written. */
  tmp: string;
  stream: WriteStream;
  /** The temporary's handle, for positional writes (not mixed with `stream`). */
  handle: FileHandle;
  /** Syncs and closes the temporary: complete on disk, not yet visible. */
  seal(): Promise<void>;
  /** Seals, then links the temporary to `name` (DUPLICATE_OBJECT if it appeared); the temporary stays until discard. */
  link(): Promise<void>;
  /** Removes the temporary (cancellation, failure). */
  discard(): Promise<void>;
}

/** A hidden temporary beside `name`, opened exclusively and without following symlinks. */
export async function pendingFile(realDir: string, name: string): Promise<PendingFile> {
  const tmp = path.join(realDir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  const stream = handle.createWriteStream({ autoClose: false, highWaterMark: 1 << 20 });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stream.destroy();
    await handle.close().catch(() => undefined);
  };
  const seal = async (): Promise<void> => {
    if (closed) return;
    await handle.sync();
    await close();
  };
  return {
    tmp,
    stream,
    handle,
    seal,
    link: async () => {
      await seal();
      await link(tmp, path.join(realDir, name), name);
    },
    discard: async () => {
      await close();
      await fs.rm(tmp, { force: true });
    },
  };
}

async function link(from: string, to: string, name: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new DbError('DUPLICATE_OBJECT', `${name} already exists in the backup directory; backups are never overwritten`, { file: name });
    throw err;
  }
}

/** Makes a new link durable: the directory entry is synced too. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, constants.O_RDONLY).catch(() => null);
  if (!h) return;
  await h.sync().catch(() => undefined);
  await h.close();
}
