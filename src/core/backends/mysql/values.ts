/**
 * mysql: the value codecs of portable backups (contract/backup.ts reader, writer).
 * mysql2 gives numbers, strings (DECIMAL, dates, integers past 2^53), Buffers and JSON
 * as text: the shared readers take them as they are. Loads bind bigints and Buffers.
 */
import { binaryBound, integerBound, nativeBound, portableReader, type Read } from '../../backup/values.js';
import type { TypeSpec } from '../../schema/model.js';

/** A JSON document as the server keeps it (MariaDB: the text as written), not respelt (§17.2). */
export const reader = (spec: TypeSpec): Read => (spec.kind === 'json' ? (v) => JSON.stringify(String(v)) : portableReader(spec));

export function writer(spec: TypeSpec): (v: unknown) => unknown {
  switch (spec.kind) {
    case 'smallint': case 'integer': case 'bigint': return integerBound;
    case 'binary': return (v) => { const b = binaryBound(v); return typeof b === 'string' ? Buffer.from(b) : b; };
    // MariaDB reads no zone designator; our sessions run in UTC.
    case 'timestamptz': return (v) => (typeof v === 'string' ? v.replace(/Z$/, '') : v);
    default: return nativeBound;
  }
}

/**
 * Every column but binary may be offered as JSON lines: the INSERT transcoder (bulk.ts)
 * writes strings, numbers and booleans as these writers' values would be written (a
 * string of digits quoted, which MySQL converts to the integer exactly; a timestamp's Z
 * dropped) and gives up on objects. A binary column's strings are base64.
 */
export const jsonLines = (spec: TypeSpec): boolean => spec.kind !== 'binary';
