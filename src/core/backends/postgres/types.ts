/**
 * How PostgreSQL values become JSON: exact where a JS number or Date would lose
 * something (int8 above 2^53, numeric digits, timestamp microseconds, infinity).
 */
import { exactNumber } from '../../sql.js';

/** '2024-01-02 03:04:05.123456+00' (TimeZone UTC, DateStyle ISO) -> '2024-01-02T03:04:05.123456Z'. */
export function isoTimestamp(text: string): string {
  if (!/^\d{4,}-\d\d-\d\d \d/.test(text)) return text; // infinity, -infinity, BC dates
  const t = text.replace(' ', 'T');
  if (t.endsWith('+00')) return t.slice(0, -3) + 'Z';
  return /[+-]\d\d$/.test(t) ? t + ':00' : t;
}

const keep = (text: string): string => text;

/** postgres.js `types` option: parsers by type oid, results only (we never serialize through them). */
export const PG_TYPE_PARSERS = {
  cmx_int8: { to: 20, from: [20], serialize: String, parse: exactNumber },
  cmx_numeric: { to: 1700, from: [1700], serialize: String, parse: exactNumber },
  cmx_timestamp: { to: 1114, from: [1114, 1184], serialize: String, parse: isoTimestamp },
  cmx_text_time: { to: 1082, from: [1082, 1083, 1266, 1186], serialize: String, parse: keep },
  // Parameters arrive as JSON text already (bind() stringifies objects): sending a string
  // through JSON.stringify again would store a JSON string instead of the document.
  cmx_json: { to: 114, from: [114, 3802], serialize: (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x)), parse: (x: string) => JSON.parse(x) as unknown },
};

const OID_NAMES: Record<number, string> = {
  16: 'bool', 17: 'bytea', 18: 'char', 19: 'name', 20: 'int8', 21: 'int2', 23: 'int4', 25: 'text',
  26: 'oid', 114: 'json', 142: 'xml', 700: 'float4', 701: 'float8', 790: 'money', 869: 'inet',
  650: 'cidr', 829: 'macaddr', 1042: 'bpchar', 1043: 'varchar', 1082: 'date', 1083: 'time',
  1114: 'timestamp', 1184: 'timestamptz', 1186: 'interval', 1266: 'timetz', 1560: 'bit',
  1562: 'varbit', 1700: 'numeric', 2249: 'record', 2278: 'void', 2950: 'uuid', 3802: 'jsonb',
  3614: 'tsvector', 3904: 'int4range', 3926: 'int8range', 3912: 'daterange', 3910: 'tstzrange',
  1000: '_bool', 1001: '_bytea', 1005: '_int2', 1007: '_int4', 1016: '_int8', 1009: '_text',
  1015: '_varchar', 1021: '_float4', 1022: '_float8', 1231: '_numeric', 1182: '_date',
  1115: '_timestamp', 1185: '_timestamptz', 2951: '_uuid', 199: '_json', 3807: '_jsonb', 705: 'unknown',
};

/** Type name for an oid; extra holds names learned from pg_type for user types. */
export function pgTypeName(oid: number, extra?: Map<number, string>): string {
  return OID_NAMES[oid] ?? extra?.get(oid) ?? '';
}

export function isKnownOid(oid: number): boolean {
  return oid in OID_NAMES;
}
