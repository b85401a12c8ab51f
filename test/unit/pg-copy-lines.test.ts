/**
 * jsonLinesToCopy (PostgreSQL restores): JSON row lines transcoded to COPY text must load
 * exactly the values that parsing them and encoding the values loads, or be null (the
 * caller parses then). Compared as COPY FROM reads them (the texts may differ: `\"`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLinesToCopy, rowsToCopy } from '../../src/core/backends/postgres/copy.js';

const viaParse = (text: string): string => rowsToCopy(text.split('\n').map((l) => JSON.parse(l) as unknown[]));

const ESC: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
/** COPY FROM's text format, by its documentation: \N is null; \b \f \n \r \t \v, octal \d{1,3}, hex \xh{1,2}; any other escaped character is itself. */
const copyRead = (copy: string): Array<Array<string | null>> => copy.replace(/\n$/, '').split('\n').map((line) => line.split('\t').map((f) => (f === '\\N' ? null
  : f.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/gs, (_, e: string) => (e[0] === 'x' && e.length > 1 ? String.fromCharCode(parseInt(e.slice(1), 16)) : /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : ESC[e] ?? e)))));
const same = (got: string, text: string): void => expect(copyRead(got)).toEqual(copyRead(viaParse(text)));

describe('jsonLinesToCopy', () => {
  it('matches parse-and-encode on awkward strings, numbers and nulls', () => {
    const rows = [
      ['plain', 42, -7, 0.30000000000000004, 1e-7, 1e21, true, false, null],
      ['tab\there', 'new\nline', 'cr\r', 'back\\slash', 'quote"d', 'both \\" and "\\', '\\u not an escape', '🐜 naïve 日本', ''],
      ['{"a": 1, "tag": [true, null]}', '\u0001\u001f\u007f', 'a/b', '\b\f', '\ud83d', 'x\\', '\\', '"', 'NaN'],
    ];
    const text = rows.map((r) => JSON.stringify(r)).join('\n');
    const got = jsonLinesToCopy(text, 9);
    expect(got).not.toBeNull();
    expect(got!.rows).toBe(3);
    same(got!.text, text);
  });

  it('keeps a number as written (the exact text), exponents spelt out as String would', () => {
    expect(jsonLinesToCopy('[12.50,1E3,-0.5e-2]', 3)!.text).toBe('12.50\t1000\t-0.005\n');
  });

  it('gives up on what it does not expect', () => {
    for (const [text, width] of [
      ['[1,2]', 3], ['[1,2,3]', 2], ['[1, 2]', 2], ['[{"int":"1"}]', 1], ['[1,{"base64":"AA=="}]', 2], ['[[1]]', 1], ['[tru]', 1], ['["a\tb"]', 1],
      ['["\\x41"]', 1], ['["\\v"]', 1], ['["unterminated]', 1], ['[1]\n', 1], ['[1]x', 1], ['[Infinity]', 1], ['["\\ud800"', 1],
    ] as Array<[string, number]>) expect(jsonLinesToCopy(text, width), text).toBeNull();
  });

  it('agrees with parse-and-encode on random rows', () => {
    const value = fc.oneof(fc.string({ unit: 'binary' }), fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    fc.assert(fc.property(fc.array(fc.array(value, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 20 }), (rows) => {
      const text = rows.map((r) => JSON.stringify(r)).join('\n');
      const got = jsonLinesToCopy(text, 4);
      expect(got).not.toBeNull();
      expect(got!.rows).toBe(rows.length);
      same(got!.text, text);
    }), { numRuns: 500 });
  });
});
