/**
 * jsonLineFields (the restores' JSON-line scanner, PostgreSQL COPY and MySQL INSERT): what it
 * takes must be JSON. A line JSON.parse refuses (numbers outside JSON's grammar, raw control
 * characters, damage anywhere) must give null, so the load parses the batch and the restore
 * fails as BACKUP_CORRUPT instead of handing the token to the database (MariaDB reads `9-10`
 * as -1 and `01` as 1). Checked on hand-picked tokens and on random mutations of valid lines.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { insertForm } from '../../src/core/backends/mysql/bulk.js';
import { COPY_FORM } from '../../src/core/backends/postgres/copy.js';
import { jsonLineFields, type JsonLineForm } from '../../src/core/backup/json-lines.js';

/** A form that shows what it was given; its `unlike` is the narrowest the contract allows. */
const FORM: JsonLineForm = { null: 'N', separator: '|', unlike: /\\[^"\\/bfnrt]/, body: (b) => `s:${b}`, value: (v) => `v:${v}` };
const scan = (text: string, width: number, form = FORM): string[] | null => {
  const out: string[] = [];
  return jsonLineFields(text, width, form, (f) => out.push(f)) === null ? null : out;
};
const parses = (text: string): boolean => {
  try {
    text.split('\n').forEach((l) => JSON.parse(l));
    return true;
  } catch {
    return false;
  }
};

describe('jsonLineFields', () => {
  it('takes JSON numbers as written, and only those', () => {
    expect(scan('[0,-0,12,-3.25,1e3,2E-2,0.5e+1,1.50]', 8)).toEqual(['0|-0|12|-3.25|1000|0.02|5|1.50']);
    for (const tok of ['01', '-01', '1.', '-.5', '.5', '9-10', '1.2.3', '+1', '-', '1e', '1e+', '1E-', '0x10', '1_000', 'NaN', 'Infinity', '1e999', '--1', '00']) {
      expect(scan(`[${tok}]`, 1), tok).toBeNull();
    }
  });

  it('takes no raw control character, in strings or between values', () => {
    for (const c of [0, 1, 9, 11, 13, 26, 31]) {
      expect(scan(`["a${String.fromCharCode(c)}b"]`, 1), `U+${c.toString(16)}`).toBeNull();
    }
    expect(scan('["a\u007fb"]', 1)).toEqual(['s:a\u007fb']);
  });

  it('takes null, true and false whole, and nothing that begins like them', () => {
    expect(scan('[null,true,false]', 3)).toEqual(['N|true|false']);
    for (const tok of ['nul', 'nulll', 'tru', 'truex', 'fals', 'falsey', 'NULL', 'True']) expect(scan(`[${tok}]`, 1), tok).toBeNull();
  });

  it('takes no line of width 0 (a row of no values is left to the parse)', () => {
    for (const text of ['[', '[\n[', '[]']) expect(jsonLineFields(text, 0, COPY_FORM, () => undefined), text).toBeNull();
  });

  it('never takes a line JSON.parse refuses (random damage to valid lines, with each backend form)', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    const damage = fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom('0', '.', '-', '+', 'e', ',', ']', '[', '"', '\\', ' ', '\t', '\u0000', '\n', 'n', 'u', 'x', '1'));
    fc.assert(fc.property(fc.array(fc.array(value, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.array(damage, { minLength: 1, maxLength: 3 }), (rows, edits) => {
      let text = rows.map((r) => JSON.stringify(r)).join('\n');
      for (const [at, op, ch] of edits) {
        const i = at % (text.length + 1);
        text = op === 0 ? text.slice(0, i) + ch + text.slice(i) : op === 1 ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + ch + text.slice(i + 1);
      }
      for (const form of [FORM, COPY_FORM, insertForm(['text', 'integer', 'timestamptz'])]) {
        if (scan(text, 3, form) !== null) expect(parses(text), JSON.stringify(text)).toBe(true);
      }
    }), { numRuns: 5000 });
  });
});
