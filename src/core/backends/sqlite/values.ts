/**
 * sqlite: the value codecs of portable backups (contract/backup.ts reader, writer).
 * better-sqlite3 gives safe integers (bigint), numbers, strings and Buffers; SQLite
 * keeps text as it was given, so its date, time, JSON and UUID text is kept verbatim,
 * not respelt. Loads bind bigints, numbers, strings and Buffers.
 */
import { binaryBound, integerBound, nativeBound, portableReader, readText, type Read } from '../../backup/values.js';
import type { TypeSpec } from '../../schema/model.js';

const VERBATIM = new Set(['char', 'uuid', 'time', 'timestamp', 'timestamptz', 'json']);

/**
 * Text in a BLOB column is tagged as text: the shared binary reader takes a string starting
 * `\x` for PostgreSQL's hex form, which turned SQLite's text '\x41' into the byte 0x41.
 */
const readBinaryHere = (read: Read): Read => (v) => (typeof v === 'string' ? `{"text":${JSON.stringify(v)}}` : read(v));

export const reader = (spec: TypeSpec): Read => (VERBATIM.has(spec.kind) ? readText : spec.kind === 'binary' ? readBinaryHere(portableReader(spec)) : portableReader(spec));

export function writer(spec: TypeSpec): (v: unknown) => unknown {
  switch (spec.kind) {
    case 'smallint': case 'integer': case 'bigint': return integerBound;
    case 'boolean': return (v) => (v === true ? 1n : v === false ? 0n : nativeBound(v));
    case 'binary': return binaryBound;
    case 'real': case 'double': return (v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
    default: return nativeBound;
  }
}
