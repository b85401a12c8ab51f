/**
 * A table of every portable type with edge values (extremes, empty vs NULL, emoji,
 * escapes, time zones, a 1 MB binary), for the backup tests.
 */
import { mustCall, rowsOf, type Harness } from './mcp.js';

type Json = Record<string, any>;

export const EVERY_TYPE_SCHEMA = (table: string, decimal = 'decimal(38,10)') => ({
  table,
  columns: [
    { name: 'id', type: 'bigint', primary_key: true, auto_increment: true },
    { name: 'small', type: 'smallint' }, { name: 'count', type: 'integer' }, { name: 'big', type: 'bigint' },
    { name: 'price', type: decimal }, { name: 'ratio', type: 'real' }, { name: 'score', type: 'double' },
    { name: 'active', type: 'boolean' }, { name: 'name', type: 'varchar(100)' }, { name: 'code', type: 'char(3)' },
    { name: 'body', type: 'text' }, { name: 'born', type: 'date' }, { name: 'at', type: 'time' },
    { name: 'created', type: 'timestamp' }, { name: 'seen', type: 'timestamptz' }, { name: 'ref', type: 'uuid' },
    { name: 'doc', type: 'json' }, { name: 'blob', type: 'binary' },
  ],
});

/** Edge rows: extremes, empty vs NULL, emoji, escapes, zones; the 1 MB binary is added per backend. */
export function edgeRows(backend: string, bigDecimals = true): unknown[][] {
  const zoned = (iso: string, utc: string): string => (backend === 'postgres' ? iso : backend === 'mysql' ? utc.replace('T', ' ').replace('Z', '') : utc);
  if (!bigDecimals && backend === 'sqlite') return canonicalRows();
  return [
    [32767, 2147483647, '9223372036854775807', bigDecimals ? '1234567890123456789012345678.0123456789' : '1234567890.12', 1.5, 0.30000000000000004, true, '🐜 naïve 日本', 'ab', 'line1\nline2\t\\ "quoted" \'single\'', '2024-02-29', '23:59:59.999999', '2024-01-02 03:04:05.123456', zoned('2024-01-02T03:04:05.123456+05:30', '2024-01-01T21:34:05.123456Z'), '0b5e6c2e-7c55-4f8b-9d1a-3c5a2b1e0f99', '{"b": [1, 2.5, "x"], "a": {"n": 12345678901234567890, "s": "é \\" \\\\"}}'],
    [-32768, -2147483648, '-9223372036854775808', bigDecimals ? '-99999999999999999999999999.9999999999' : '-0.01', -2.25, -1e300, false, '', '', '', '1970-01-01', '00:00:00', '1999-12-31 23:59:59', zoned('2000-01-01T00:00:00-08:00', '2000-01-01T08:00:00Z'), '00000000-0000-0000-0000-000000000000', '[]'],
    [null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
    [0, 0, '0', '0', 0, 0.00001, true, 'x'.repeat(100), 'xyz', '\u2028 "' + '\\', '2038-01-19', '12:00:00.5', '2024-06-30 12:00:00.5', zoned('2024-06-30T12:00:00.5Z', '2024-06-30T12:00:00.5Z'), 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"z":null,"a":true}'],
  ];
}

/**
 * The same values as every backend's backup spells them (SQLite keeps text verbatim,
 * so a SQLite source compares with others when it holds these forms).
 */
function canonicalRows(): unknown[][] {
  return edgeRows('mysql', false).map((row) => row.map((v, i) => {
    if (typeof v !== 'string') return v;
    if (i === 12 || i === 13) return v.replace(' ', 'T') + (i === 13 ? 'Z' : '');
    if (i === 15) return CANONICAL_JSON[v] ?? v;
    return v;
  }));
}

/** The documents as jsonb and MySQL JSON print them: ", " and ": ", keys by length then bytes. */
const CANONICAL_JSON: Record<string, string> = {
  '{"b": [1, 2.5, "x"], "a": {"n": 12345678901234567890, "s": "é \\" \\\\"}}': '{"a": {"n": 12345678901234567890, "s": "é \\" \\\\"}, "b": [1, 2.5, "x"]}',
  '{"z":null,"a":true}': '{"a": true, "z": null}',
};

const COLUMNS = ['small', 'count', 'big', 'price', 'ratio', 'score', 'active', 'name', 'code', 'body', 'born', 'at', 'created', 'seen', 'ref', 'doc'];

export const quoteFor = (backend: string) => (name: string): string => (backend === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** Inserts the edge rows, then a 1 MB binary into the first row. */
export async function fillEveryType(h: Harness, connection: string, backend: string, table: string, bigDecimals = true): Promise<void> {
  const q = quoteFor(backend);
  const sql = `INSERT INTO ${q(table)} (${COLUMNS.map(q).join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
  for (const row of edgeRows(backend, bigDecimals)) await mustCall(h.client, 'execute_query', { connection, query: sql, params: row });
  const hex = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7919) % 256)).toString('hex');
  const unhex = backend === 'postgres' ? "decode(?, 'hex')" : backend === 'mysql' ? 'UNHEX(?)' : 'unhex(?)';
  await mustCall(h.client, 'execute_query', { connection, query: `UPDATE ${q(table)} SET ${q('blob')} = ${unhex} WHERE ${q('id')} = 1`, params: [hex] });
  await mustCall(h.client, 'execute_query', { connection, query: `UPDATE ${q(table)} SET ${q('blob')} = ${unhex} WHERE ${q('id')} = 2`, params: [''] });
}

/** Every row as execute_query returns it, the binary column as its length and a digest. */
export async function readRows(h: Harness, connection: string, backend: string, table: string): Promise<Json[]> {
  const q = quoteFor(backend);
  const digest = backend === 'postgres' ? `md5(${q('blob')})` : backend === 'mysql' ? `MD5(${q('blob')})` : `hex(substr(${q('blob')}, 1, 64))`;
  const len = backend === 'postgres' ? `octet_length(${q('blob')})` : `length(${q('blob')})`;
  const r = await mustCall(h.client, 'execute_query', { connection, query: `SELECT ${['id', ...COLUMNS].map(q).join(', ')}, ${len} AS blob_len, ${digest} AS blob_digest FROM ${q(table)} ORDER BY ${q('id')}` });
  return rowsOf(r) as Json[];
}

