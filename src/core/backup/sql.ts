/**
 * What the backends' portable-backup SQL (backends/<name>/backup-sql.ts) shares: the
 * ORDER BY of a table's rows, and the finishing of row lines built by the database
 * with a few values marked for JavaScript to respell. Neutral: no backend's name.
 */
import type { Quoting } from '../backends/contract/backup.js';
import type { Table } from '../schema/model.js';
import { canonicalJson, readFloat32, readFloatText } from './values.js';

/** ` ORDER BY` the table's primary key, or '' when it has none (the source's scan order). */
export const orderBy = (t: Table, f: Quoting): string => {
  const pk = t.columns.filter((c) => c.primary_key);
  return pk.length ? ` ORDER BY ${pk.map((c) => f.quote(c.name)).join(', ')}` : '';
};

/**
 * finishBytes for a table: finishMarkedBytes when one of its columns can be marked or
 * written with `\u` escapes, else the bytes as they are (no scan of every batch for what
 * cannot be there).
 */
export const finishBytesFor = (marks: boolean): ((bytes: Buffer) => Buffer) => (marks ? finishMarkedBytes : unchanged);

const unchanged = (bytes: Buffer): Buffer => bytes;

/** finishMarked over a batch of lines as bytes; the bytes untouched when nothing is marked. */
export function finishMarkedBytes(bytes: Buffer): Buffer {
  if (!bytes.includes('"\\F') && !bytes.includes('"\\S') && !bytes.includes('"\\J') && !bytes.includes('\\u')) return bytes;
  const lines = bytes.toString('utf8').split('\n');
  lines.pop(); // after the last \n
  let out = '';
  for (const line of lines) out += `${finishMarked(line)}\n`;
  return Buffer.from(out, 'utf8');
}

/** A `\u` escape (after an odd run of backslashes: an even run is escaped backslashes, then text). */
const ESCAPE = /(\\+)u([0-9A-Fa-f]{4})/g;

/**
 * Marked values finished in JavaScript: floats (`"\F…"`, 4-byte ones `"\S…"`) respelt, JSON documents
 * (`"\J…"`) put in canonical form. JSON text never holds \F or \J. And `\u` escapes in
 * lower case, as JSON.stringify writes them (MariaDB's JSON_QUOTE writes `\u001F`).
 */
export function finishMarked(line: string): string {
  let out = line;
  if (out.includes('"\\F')) out = out.replace(/"\\F([^"]*)"/g, (_, t: string) => readFloatText(t));
  if (out.includes('"\\S')) out = out.replace(/"\\S([^"]*)"/g, (_, t: string) => readFloat32(t));
  if (out.includes('"\\J')) out = out.replace(/"\\J((?:[^"\\]|\\.)*)"/g, (_, t: string) => JSON.stringify(canonicalJson(JSON.parse(`"${t}"`) as string)));
  if (out.includes('\\u')) out = out.replace(ESCAPE, (m, slashes: string, hex: string) => (slashes.length % 2 ? `${slashes}u${hex.toLowerCase()}` : m));
  return out;
}
