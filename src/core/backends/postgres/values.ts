/**
 * postgres: the value codecs of portable backups (contract/backup.ts reader, writer).
 * Session.stream gives each value's text output; Session.load takes COPY's text input.
 */
import {
  canonicalTimestamp, isBase64Object, isIntObject, isTextObject, portableReader, readInteger, readNative, type Read,
} from '../../backup/values.js';
import type { TypeSpec } from '../../schema/model.js';

/**
 * The text output is already close to canonical (ISO DateStyle, UTC, trimmed
 * fractions, integers without leading zeros): a few cheap checks instead of regexes.
 */
const integer: Read = (v) => (typeof v === 'string' && v.length < 16 ? v : readInteger(v));
const stamp = (zone: boolean): Read => (v) => {
  if (typeof v !== 'string' || v.length < 19 || v[10] !== ' ') return typeof v === 'string' ? JSON.stringify(v) : readNative(v);
  if (!zone) return `"${v.slice(0, 10)}T${v.slice(11)}"`;
  return v.endsWith('+00') ? `"${v.slice(0, 10)}T${v.slice(11, -3)}Z"` : JSON.stringify(canonicalTimestamp(v, true));
};

export function reader(spec: TypeSpec): Read {
  if (spec.kind === 'integer' || spec.kind === 'bigint' || spec.kind === 'smallint') return integer;
  if (spec.kind === 'timestamp' || spec.kind === 'timestamptz') return stamp(spec.kind === 'timestamptz');
  return portableReader(spec);
}

/** COPY's text input: bytea as \x hex, everything else as text. */
const copyText = (v: unknown): unknown => (isBase64Object(v) ? `\\x${Buffer.from(v.base64, 'base64').toString('hex')}` : isIntObject(v) ? v.int : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

/** A native value's strings and numbers load as parsed: jsonLinesToCopy writes them as copyText would, and gives up on objects. */
export const jsonLines = (spec: TypeSpec): boolean => spec.kind === 'native';

/** null: the parsed value is what COPY loads (its text input takes JSON numbers, true/false and strings as they are). */
export function writer(spec: TypeSpec): ((v: unknown) => unknown) | null {
  switch (spec.kind) {
    case 'binary': return (v) => (typeof v === 'string' ? `\\x${Buffer.from(v, 'base64').toString('hex')}` : isTextObject(v) ? `\\x${Buffer.from(v.text).toString('hex')}` : copyText(v));
    case 'native': return copyText;
    default: return null;
  }
}
