/**
 * The canonical value forms of portable backups (SPEC §11.2): the same value read from
 * any backend's spelling gives the same JSON text, so content checksums compare.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backendModule, type Backend } from '../../src/core/backends/lookup.js';
import { canonicalJson, canonicalTime, canonicalTimestamp, exactJson } from '../../src/core/backup/values.js';
import type { TypeSpec } from '../../src/core/schema/model.js';

const reader = (backend: Backend, spec: TypeSpec) => backendModule(backend).backup.reader(spec);
const writer = (backend: Backend, spec: TypeSpec) => backendModule(backend).backup.writer(spec);

describe('canonical forms', () => {
  it('timestamps: T separator, fraction without trailing zeros, zones shifted to UTC', () => {
    expect(canonicalTimestamp('2024-01-02 03:04:05.120000', false)).toBe('2024-01-02T03:04:05.12');
    expect(canonicalTimestamp('2024-01-02 03:04:05.000000', false)).toBe('2024-01-02T03:04:05');
    expect(canonicalTimestamp('2024-01-02T03:04:05.123456+05:30', true)).toBe('2024-01-01T21:34:05.123456Z');
    expect(canonicalTimestamp('2024-12-31 23:30:00-01', true)).toBe('2025-01-01T00:30:00Z');
    expect(canonicalTimestamp('2024-01-02 03:04:05+00', true)).toBe('2024-01-02T03:04:05Z');
    expect(canonicalTimestamp('infinity', true)).toBe('infinity');
    expect(canonicalTime('12:00:00.500000')).toBe('12:00:00.5');
    expect(canonicalTime('-838:59:59.000000')).toBe('-838:59:59');
  });

  it('JSON: jsonb\'s spelling, keys by length then bytes, numbers kept as written', () => {
    expect(canonicalJson('{"tag":"t1","k":1,"b":[1,2]}')).toBe('{"b": [1, 2], "k": 1, "tag": "t1"}');
    expect(canonicalJson('{"10": 1, "9": 2, "a": 1.50, "n": 12345678901234567890}')).toBe('{"9": 2, "a": 1.50, "n": 12345678901234567890, "10": 1}');
    expect(canonicalJson('{"a": 1, "a": 2}')).toBe('{"a": 2}');
    expect(canonicalJson('{"é": 1, "z": 2}')).toBe('{"z": 2, "é": 1}');
    expect(canonicalJson('not json')).toBe('not json');
    expect(canonicalJson('[1.0, {"x": "\\u00e9\\n"}]')).toBe('[1.0, {"x": "é\\n"}]');
    expect(canonicalJson('{"b": 7.5, "a": -0, "tt1.50": 2.5}')).toBe('{"a": -0, "b": 7.5, "tt1.50": 2.5}');
    expect(canonicalJson('{"score": 1.5000, "votes": 1E2, "x": "\\u0000", "n": [01]}')).toBe('{"score": 1.5000, "votes": 1E2, "x": "\\u0000", "n": [01]}');
    expect(canonicalJson('{"score": 1.5000, "votes": 1E2, "x": "\\u0000"}')).toBe('{"x": "\\u0000", "score": 1.5000, "votes": 1E2}');
    expect(canonicalJson('{1.50: 1}')).toBe('{1.50: 1}');
    expect(canonicalJson('1.50')).toBe('1.50');
  });

  it('JSON: the fast path (JSON.parse when every number reads back as written) spells as the exact parser does', () => {
    // Number tokens in many spellings: JavaScript's own, trailing zeros, exponents, -0, long digits.
    const token = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.tuple(fc.integer({ min: -999, max: 999 }), fc.nat(99)).map(([a, b]) => `${a}.${b}`),
      fc.constantFrom('-0', '1e2', '1E-7', '0.10', '12345678901234567', '9007199254740993', '1.5e300', '0.000001', '1.5000', '01', '"\\u0000"', '"\\u00001"'),
      fc.integer().map(String),
    );
    const text = fc.letrec<{ doc: string }>((tie) => ({
      doc: fc.oneof(
        { depthSize: 'small' },
        token, fc.string().map((s) => JSON.stringify(s)), fc.constantFrom('true', 'false', 'null'),
        fc.array(tie('doc'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
        fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('doc')), { maxLength: 5 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`),
      ),
    })).doc;
    fc.assert(fc.property(text, (t) => canonicalJson(t) === exactJson(t)), { numRuns: 3000 });
    // Numbers where keys belong, and other text that is not JSON, pass unchanged either way.
    fc.assert(fc.property(text, text, (a, b) => canonicalJson(`{${a}: ${b}}`) === exactJson(`{${a}: ${b}}`)), { numRuns: 1000 });
  });

  it('readers: every backend\'s spelling of a value gives one JSON text', () => {
    const spec = { kind: 'bigint' } as const;
    expect([reader('postgres', spec)('9223372036854775807'), reader('mysql', spec)('9223372036854775807'), reader('sqlite', spec)(9223372036854775807n)]).toEqual(Array(3).fill('"9223372036854775807"'));
    expect([reader('mysql', spec)(42), reader('sqlite', spec)(42n), reader('postgres', spec)('42')]).toEqual(['42', '42', '42']);
    const dec = { kind: 'decimal', precision: 12, scale: 2 } as const;
    expect([reader('mysql', dec)('12.50'), reader('sqlite', dec)(12.5), reader('sqlite', dec)(12n)]).toEqual(['"12.50"', '"12.50"', '"12.00"']);
    const dbl = { kind: 'double' } as const;
    // Negative zero keeps its sign (review finding 3: a float -0 came back as 0).
    expect([reader('mysql', dbl)(1e-5), reader('sqlite', dbl)(NaN), reader('postgres', dbl)('-0'), reader('mysql', dbl)(-0)]).toEqual(['0.00001', '"NaN"', '-0', '-0']);
    expect(reader('mysql', { kind: 'boolean' })(1)).toBe('true');
    expect(reader('postgres', { kind: 'char', length: 3 })('ab ')).toBe('"ab"');
    expect(reader('postgres', { kind: 'binary' })('\\x00ff')).toBe('"AP8="');
    expect(reader('sqlite', { kind: 'binary' })(Buffer.from([0, 255]))).toBe('"AP8="');
    expect(reader('sqlite', { kind: 'native', native: 'ANY' })(Buffer.from([1]))).toBe('{"base64":"AQ=="}');
  });

  it('writers: JSON back to what each target loads', () => {
    expect(writer('postgres', { kind: 'binary' })!('AP8=')).toBe('\\x00ff');
    expect(writer('postgres', { kind: 'text' })).toBe(null);
    expect(writer('mysql', { kind: 'bigint' })!('9223372036854775807')).toBe(9223372036854775807n);
    expect(writer('mysql', { kind: 'timestamptz' })!('2024-01-01T00:00:00Z')).toBe('2024-01-01T00:00:00');
    expect(writer('sqlite', { kind: 'boolean' })!(true)).toBe(1n);
    expect(writer('sqlite', { kind: 'binary' })!('AP8=')).toEqual(Buffer.from([0, 255]));
  });
});
