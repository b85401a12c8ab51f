/**
 * Values in a portable backup: one canonical JSON form per portable kind, the same
 * whichever backend wrote it, so a table's content checksum (SHA-256 of its row
 * lines) is comparable across backends. Readers turn a dialect's stream values
 * (Session.stream) into JSON text; writers turn parsed JSON back into what the
 * target's Session.load binds. This file holds the forms and the readers and writers
 * every backend shares; each backend module's reader() and writer() (backends/<name>/values.ts)
 * pick from them and add what its driver's values need. SPEC.md §11.2 lists the forms.
 */
import { canonicalDecimal, columnSpec, type Column, type TypeSpec } from '../schema/model.js';

/** The column encodings of the format: the portable kinds, plus `native`. */
export type Encoding = TypeSpec['kind'];

/** A column's reader: a stream value (never null) to JSON text. */
export type Read = (v: unknown) => string;

/** A column's type; SQLite's columns declared without a type are native with an empty name. */
export const specOf = (c: Column): TypeSpec => (c.type === 'native' ? { kind: 'native', native: c.native ?? '' } : columnSpec(c));

const quote = (s: string): string => JSON.stringify(s);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// ------------------------------------------------------------------ canonical text forms

/** Fraction digits without trailing zeros ('.500000' -> '.5', '.000' -> ''). */
function fraction(f: string | undefined): string {
  if (!f) return '';
  const t = f.replace(/0+$/, '');
  return t === '.' ? '' : t;
}

const TIME = /^(-?\d{2,3}:\d\d:\d\d)(\.\d+)?$/;
const STAMP = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d(?::?\d\d)?)?$/;

export function canonicalTime(t: string): string {
  const m = TIME.exec(t);
  return m ? m[1] + fraction(m[2]) : t;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** ISO 8601 with `T`; with `zone`, shifted to UTC and marked `Z`. Text that is not a timestamp passes unchanged (infinity, BC). */
export function canonicalTimestamp(t: string, zone: boolean): string {
  const m = STAMP.exec(t);
  if (!m) return t;
  const [, y, mo, d, h, mi, s, f, off] = m;
  if (!zone || off === undefined || off === 'Z' || /^[+-]00(:?00)?$/.test(off)) {
    return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction(f)}${zone ? 'Z' : off ?? ''}`;
  }
  const [, sign, oh, om] = /^([+-])(\d\d):?(\d\d)?$/.exec(off) as RegExpExecArray;
  const minutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om ?? 0));
  const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi) - minutes, Number(s)));
  if (Number(y) < 100) at.setUTCFullYear(Number(y));
  return `${pad(at.getUTCFullYear(), 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}${fraction(f)}Z`;
}

/**
 * A JSON document in one spelling, the one PostgreSQL's jsonb and MySQL's JSON print:
 * `", "` and `": "` between items, object keys ordered by UTF-8 length and then bytes,
 * later duplicates winning, number tokens kept as written (JSON.parse would round
 * integers past 2^53 and respell 1.0). Text that is not JSON passes unchanged.
 */
export function canonicalJson(text: string): string {
  // With no decimal point, exponent, long integer or -0, JSON.parse loses nothing.
  if (!/\d{16}|\d\.|\d[eE]|-0/.test(text)) {
    try {
      return sortedJson(JSON.parse(text), NONE);
    } catch {
      return text;
    }
  }
  // A string placeholder can only be told from a string that holds U+0000 by its absence.
  return text.includes('\\u0000') ? exactJson(text) : keptNumbersJson(text);
}

const NONE: string[] = [];
/** Strings (skipped) and JSON number tokens, by the grammar's own rule (`01` is two tokens, and no JSON). */
const TOKENS = /"(?:[^"\\]|\\.)*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

/**
 * JSON.parse with the numbers it would respell (`1.50`, `1e2`, `-0`, 17 digits) first
 * replaced by placeholders: strings of U+0000 and the token's index, put back as written
 * by sortedJson. Several times faster than exactJson on MariaDB's DECIMAL-made documents.
 */
function keptNumbersJson(text: string): string {
  const kept: string[] = [];
  const marked = text.replace(TOKENS, (t) => {
    if (t.charCodeAt(0) === 34 || String(Number(t)) === t) return t;
    kept.push(t);
    return `"\\u0000${kept.length - 1}"`;
  });
  try {
    return sortedJson(JSON.parse(marked), kept);
  } catch {
    // Not JSON, or a number where a key belongs (`{1.5: 1}` became a key): the exact parser says which.
    return exactJson(text);
  }
}

const ASCII = /^[\x00-\x7f]*$/;

/** jsonb's key order: shorter (in UTF-8 bytes) first, then bytewise. */
function keyOrder(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length - y.length || Buffer.compare(x, y);
}

const NON_ASCII = /[^\x00-\x7f]/;
const asciiOrder = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/**
 * A parsed document in the canonical spelling, `kept` numbers (keptNumbersJson) put back;
 * a row's every document passes here, so no arrays of parts are made.
 */
function sortedJson(v: unknown, kept: string[]): string {
  if (typeof v === 'string') return kept.length && v.charCodeAt(0) === 0 ? kept[Number(v.slice(1))] : JSON.stringify(v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  let s: string;
  if (Array.isArray(v)) {
    s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ', ' : '') + sortedJson(v[i], kept);
    return `${s}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (kept.length && keys.some((k) => k.charCodeAt(0) === 0)) throw new Error('a placeholder as a key');
  // keyOrder's byte comparison only where a key is not ASCII.
  if (keys.length > 1) keys.sort(keys.some((k) => NON_ASCII.test(k)) ? keyOrder : asciiOrder);
  s = '{';
  for (let i = 0; i < keys.length; i++) s += `${i ? ', ' : ''}${JSON.stringify(keys[i])}: ${sortedJson(o[keys[i]], kept)}`;
  return `${s}}`;
}

/** The slow path: a small parser that keeps number tokens as written (exported for the differential test). */
export function exactJson(text: string): string {
  let i = 0;
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const value = (): string => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members = new Map<string, [string, string]>();
      ws();
      if (text[i] === '}') { i++; return '{}'; }
      for (;;) {
        ws();
        const key = string();
        ws();
        if (text[i++] !== ':') throw new Error('json');
        const name = JSON.parse(key) as string;
        members.delete(name);
        members.set(name, [key, value()]);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== '}') throw new Error('json');
        break;
      }
      return `{${[...members].sort((a, b) => keyOrder(a[0], b[0])).map(([, [k, v]]) => `${k}: ${v}`).join(', ')}}`;
    }
    if (c === '[') {
      i++;
      const items: string[] = [];
      ws();
      if (text[i] === ']') { i++; return '[]'; }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== ']') throw new Error('json');
        break;
      }
      return `[${items.join(', ')}]`;
    }
    if (c === '"') return string();
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) throw new Error('json');
    i += m[0].length;
    return m[0];
  };
  const string = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) throw new Error('json');
    i += m[0].length;
    return JSON.stringify(JSON.parse(m[0]));
  };
  try {
    const out = value();
    ws();
    return i === text.length ? out : text;
  } catch {
    return text;
  }
}

// ------------------------------------------------------------------ readers

export function readInteger(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : quote(String(v));
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? v.toString() : quote(v.toString());
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return String(Number(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number.isSafeInteger(Number(v)) ? String(Number(v)) : quote(v);
  return readNative(v);
}

/** A float as PostgreSQL printed it, in the canonical (JavaScript) spelling. */
export const readFloatText = (t: string): string => readFloat(t);

/**
 * A 4-byte float's value (given exactly, as a double or its text) in the fewest digits that
 * read back as the same 4-byte float, as PostgreSQL prints real: MySQL's FLOAT widened to
 * DOUBLE gives 123456.78125, this 123456.78. The server's own print of a FLOAT keeps 6
 * digits (123457), which is another float.
 */
export function readFloat32(v: unknown): string {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n === 0 || Math.fround(n) !== n) return readFloat(v);
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(n.toPrecision(digits));
    if (Math.fround(shorter) === n) return String(shorter);
  }
  return String(Number(n.toPrecision(9)));
}

function readFloat(v: unknown): string {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : NaN;
  if (typeof v === 'string' && Number.isNaN(n) && v !== 'NaN') return quote(v);
  // Negative zero is a float value of its own (1/-0 is -Infinity): JSON writes it -0.
  if (Object.is(n, -0)) return '-0';
  return Number.isFinite(n) ? String(n) : quote(String(n));
}

function readBoolean(v: unknown): string {
  if (v === true || v === 't' || v === 1 || v === 1n) return 'true';
  if (v === false || v === 'f' || v === 0 || v === 0n) return 'false';
  return readNative(v);
}

const bytes = (v: unknown): Buffer | null => (Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null);

/** A value of a type with no portable form: text, number, or {"base64": ...} for bytes. */
export function readNative(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : quote(String(v));
  // A string would read back as text: an integer past 2^53 is tagged.
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? v.toString() : `{"int":"${v.toString()}"}`;
  if (typeof v === 'boolean') return String(v);
  const b = bytes(v);
  if (b) return `{"base64":"${b.toString('base64')}"}`;
  if (v instanceof Date) return quote(v.toISOString());
  return quote(String(v));
}

/** Text as it is (a JSON string). */
export const readText = (v: unknown): string => (typeof v === 'string' ? quote(v) : readNative(v));
const stringy = (f: (s: string) => string) => (v: unknown): string => (typeof v === 'string' ? quote(f(v)) : readNative(v));

/** PostgreSQL bytea text is `\x` + hex; MySQL and SQLite give Buffers. */
function readBinary(v: unknown): string {
  const b = bytes(v);
  if (b) return quote(b.toString('base64'));
  if (typeof v === 'string' && v.startsWith('\\x')) return quote(Buffer.from(v.slice(2), 'hex').toString('base64'));
  // A string means base64 in this column: text that SQLite keeps in a BLOB column is tagged.
  if (typeof v === 'string') return `{"text":${quote(v)}}`;
  return readNative(v);
}

function readDecimal(scale: number): Read {
  return (v) => {
    if (typeof v === 'string') return quote(canonicalDecimal(v, scale));
    if (typeof v === 'number' || typeof v === 'bigint') return quote(canonicalDecimal(String(v), scale));
    return readNative(v);
  };
}

/** The reader for one column from a driver's values of the usual kinds (a backend's reader() starts from it). */
export function portableReader(spec: TypeSpec): Read {
  switch (spec.kind) {
    case 'smallint': case 'integer': case 'bigint': return readInteger;
    case 'decimal': return readDecimal(spec.scale);
    case 'real': case 'double': return readFloat;
    case 'boolean': return readBoolean;
    case 'text': case 'varchar': return readText;
    // CHAR pads: PostgreSQL returns the padding, MySQL strips it. The canonical form has none.
    case 'char': return stringy((s) => s.replace(/ +$/, ''));
    case 'uuid': return stringy((s) => s.toLowerCase());
    case 'date': return readText;
    case 'time': return stringy(canonicalTime);
    case 'timestamp': return stringy((s) => canonicalTimestamp(s, false));
    case 'timestamptz': return stringy((s) => canonicalTimestamp(s, true));
    case 'json': return stringy(canonicalJson);
    case 'binary': return readBinary;
    default: return readNative;
  }
}

// ------------------------------------------------------------------ writers (the pieces backends' writer() is made of)

export const isBase64Object = (v: unknown): v is { base64: string } =>
  typeof v === 'object' && v !== null && typeof (v as { base64?: unknown }).base64 === 'string';

export const isIntObject = (v: unknown): v is { int: string } => typeof v === 'object' && v !== null && typeof (v as { int?: unknown }).int === 'string';

/** A native value for a backend that binds bytes as Buffers. */
export const nativeBound = (v: unknown): unknown => (isBase64Object(v) ? Buffer.from(v.base64, 'base64') : isIntObject(v) ? BigInt(v.int) : v);

export const isTextObject = (v: unknown): v is { text: string } => typeof v === 'object' && v !== null && typeof (v as { text?: unknown }).text === 'string';

/** A binary column's value: base64, {"text": ...} for text kept there (SQLite), or a number. */
export const binaryBound = (v: unknown): unknown => (typeof v === 'string' ? Buffer.from(v, 'base64') : isTextObject(v) ? v.text : nativeBound(v));

/** An integer column's value as a bigint where it is a whole number (kept exact past 2^53). */
export const integerBound = (v: unknown): unknown => (typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : nativeBound(v));
