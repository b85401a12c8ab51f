/**
 * Issue 14, class 8: a known secret is redacted in the forms it comes back in
 * (case-folded, upper-cased, quoted, escaped, percent-encoded), and redaction stays
 * linear on 1 MB inputs whatever the secret holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/log.js';

/** Independent of the code under test: the %XX escapes a browser or driver may write, upper or lower hex. */
function percentAll(s: string, lowerHex: boolean): string {
  const hex = [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return lowerHex ? hex : hex.toUpperCase();
}

/** Spellings of `s` that servers, drivers and URL encoders produce. */
const SPELLINGS: Array<[string, (s: string) => string]> = [
  ['raw', (s) => s],
  ['lower', (s) => s.toLowerCase()],
  ['upper', (s) => s.toUpperCase()],
  ['sql literal', (s) => s.replace(/'/g, "''")],
  ['sql identifier', (s) => s.replace(/"/g, '""')],
  ['mysql identifier', (s) => s.replace(/`/g, '``')],
  ['backslash', (s) => s.replace(/[\\'"]/g, (c) => `\\${c}`)],
  ['json', (s) => JSON.stringify(s).slice(1, -1)],
  ['json twice', (s) => JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1)],
  ['uri component', (s) => encodeURIComponent(s)],
  ['uri lower hex', (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())],
  ['percent all', (s) => percentAll(s, false)],
  ['percent all lower', (s) => percentAll(s, true)],
  ['folded literal', (s) => s.toLowerCase().replace(/'/g, "''")],
  ['upper escaped', (s) => s.toUpperCase().replace(/[\\'"]/g, (c) => `\\${c}`)],
];

describe('redaction of look-alike spellings', () => {
  const secrets = ['S3ntinelPlain42', "Qu0te'Sent\"42", 'p@ss\\w`rd%Ü'];
  const redact = createRedactor(() => secrets);

  it('redacts every spelling of every secret inside surrounding text', () => {
    let checked = 0;
    for (const secret of secrets) {
      for (const [label, spell] of SPELLINGS) {
        const form = spell(secret);
        const out = redact(`ERROR: relation "${form}" does not exist near '${form}' at schema://c/${form}`);
        expect(out, `${label}: ${form}`).not.toContain(form);
        expect(out, label).toContain('***');
        checked++;
      }
    }
    expect(checked).toBe(secrets.length * SPELLINGS.length);
  });

  it('the issue 14 example: a case-folded password in a PostgreSQL error', () => {
    expect(redact('relation "s3ntinelplain42" does not exist')).toBe('relation "***" does not exist');
    expect(redact("near 'QU0TE''SENT\"42' at line 1")).toBe("near '***' at line 1");
    expect(redact('postgres://u:S3ntinel%50lain42@h/db')).not.toMatch(/S3ntinel/i);
  });

  it('leaves other text as it was, offsets intact around multi-unit lower cases and stray escapes', () => {
    const text = 'İstanbul %zz %e2%82 100% s3ntinel-plain-42 ÉCOLE %C3%A9 done';
    expect(redact(text)).toBe(text);
    expect(redact('İİ S3NTINELPLAIN42 İ')).toBe('İİ *** İ');
    expect(redact('%E2%82 x%53%33ntinelPlain42y')).toBe('%E2%82 x***y');
  });

  it('finds a secret written as it is right after a `%` escape prefix (`%0` + `aaaaaa` decodes to a newline and five a)', () => {
    const redact = createRedactor(() => ['aaaaaa', 'abc123']);
    expect(redact('%0aaaaaa')).toBe('%0***');
    expect(redact('x%0abc123y')).toBe('x%0***y');
    expect(createRedactor(() => ['aaaa/a'])('%0aaaa%2Fa')).toBe('%0***');
  });

  it('property: any secret, any spelling, anywhere in any text is redacted', () => {
    const chars = fc.constantFrom(...Array.from('aZ9\'"\\`%@ _-ÜßéİΣ😀:/'));
    fc.assert(fc.property(
      fc.array(chars, { minLength: 6, maxLength: 24 }).map((a) => a.join('')),
      fc.constantFrom(...SPELLINGS),
      fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }),
      (secret, [, spell], before, after) => {
        fc.pre(secret.length >= 6 && secret.toLowerCase().toUpperCase().toLowerCase() === secret.toLowerCase());
        const form = spell(secret);
        const out = createRedactor(() => [secret])(`${before}${form}${after}`);
        expect(out).not.toContain(form);
      },
    ), { numRuns: 2000 });
  });

  it('stays linear on 1 MB inputs built to make matchers backtrack', () => {
    const quotes = "'".repeat(60);
    const hostile = createRedactor(() => [quotes, 'S3ntinelPlain42', `${'a'.repeat(200)}b`]);
    const inputs = [
      "'".repeat(1_000_000), "''".repeat(500_000), 'a'.repeat(1_000_000), '%27'.repeat(333_333),
      'S3ntinelPlain4'.repeat(70_000), 's3ntinelplain42 '.repeat(62_500), '%e2%82'.repeat(166_666), 'İ'.repeat(1_000_000),
    ];
    for (const input of inputs) {
      const started = performance.now();
      const out = hostile(input);
      const ms = performance.now() - started;
      expect(out.length).toBeLessThanOrEqual(input.length + 3);
      // Linear runs take tens of ms; a backtracking matcher takes minutes on these.
      expect(ms, `${input.slice(0, 12)}… took ${Math.round(ms)} ms`).toBeLessThan(3000);
    }
  });
});
