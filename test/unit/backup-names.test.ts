/**
 * Issue 14, class 8: backup names are NFC and checked against an allow-list of character
 * classes (SPEC §17.4). Look-alikes of an existing name, and names holding characters
 * that show as nothing, are refused; names in any script's letters are not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backupName, refuseExisting, refusedChar } from '../../src/core/backup/paths.js';
import { DbError } from '../../src/errors.js';
import { tempDir } from '../support/backends.js';

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (e: DbError) => e.code ?? String(e));
}

/** Code points the issue names, and their families. */
const REFUSED: number[] = [
  0x034f, 0x3164, 0xfe0f, 0xfe00, 0x180e, 0x180b, 0x180c, 0x180d, 0x180f, 0x2028, 0x2029, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f,
  0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2069, 0xfeff, 0x115f, 0x1160, 0xffa0,
  0xe0001, 0xe0020, 0xe0041, 0xe007f, 0xe0100, 0xe01ef, 0xfdd0, 0xfdef, 0xfffe, 0xffff, 0x1fffe, 0x10ffff, 0xe000, 0xf8ff, 0xf0000,
  0x100000, 0x0378, 0x0530, 0x089f, 0x20dd, 0x00ad, 0x061c, 0x00a0, 0x2000, 0x2007, 0x3000, 0x0009, 0x0085,
  0x2800, 0x2062, 0x17b4, 0x17b5, 0x1d173, 0xd800, 0xdfff, 0x2215, 0xff0e, 0x0027, 0x0022, 0x003a, 0x002a, 0x003f, 0x007c, 0x0025,
];

describe('backup names: NFC and an allow-list', () => {
  const dir = tempDir('cmx-names-');

  it('refuses every listed invisible, format, unassigned, private and stray-mark code point, in any position', async () => {
    let checked = 0;
    for (const cp of REFUSED) {
      const ch = String.fromCodePoint(cp);
      for (const name of [`a${ch}b.cmx.gz`, `${ch}a.cmx.gz`, `a.cmx.gz${ch}`, `q${ch}.cmx.gz`]) {
        expect(await code(backupName(dir, name, 'output_path')), `U+${cp.toString(16)} in ${JSON.stringify(name)}`).toBe('INVALID_INPUT');
        checked++;
      }
    }
    expect(checked).toBe(REFUSED.length * 4);
  });

  it('accepts letters of every script, NFC-composed accents, script marks and the punctuation listed', async () => {
    for (const name of ['daily-2024_01.cmx.gz', 'Größe (v2).cmx.gz', 'été.sql.gz', 'हिंदी.cmx.gz', 'ภาษาไทย.cmx.gz', '日本語 バックアップ.cmx.gz',
      'Ελληνικά.cmx.gz', 'a+b@c,d=e[f]~g.pgdump', 'ﬁle.cmx.gz', '한국어.cmx.gz']) {
      expect(await code(backupName(dir, name, 'output_path')), name).toBe('ok');
    }
  });

  it('normalises to NFC: an NFD spelling is the NFC name', async () => {
    expect(await backupName(dir, 'e\u0301te\u0301.cmx.gz', 'output_path')).toBe('\u00e9t\u00e9.cmx.gz');
    expect(await backupName(dir, 'A\u030a.cmx.gz', 'output_path')).toBe('\u00c5.cmx.gz');
    // Marks NFC cannot absorb are refused rather than kept.
    expect(await code(backupName(dir, 'q\u0301.cmx.gz', 'output_path'))).toBe('INVALID_INPUT');
    expect(await code(backupName(dir, 'a\u0301\u0301.cmx.gz', 'output_path'))).toBe('INVALID_INPUT');
    for (const mark of ['\u0300', '\u0301', '\u0308', '\u0327']) {
      for (const name of [`${mark}a.cmx.gz`, `q${mark}.cmx.gz`, `1${mark}.cmx.gz`, `-${mark}.cmx.gz`]) expect(await code(backupName(dir, name, 'output_path')), JSON.stringify(name)).toBe('INVALID_INPUT');
    }
    // A script's own marks after a letter of another script are refused too.
    expect(await code(backupName(dir, 'a\u093f.cmx.gz', 'output_path'))).toBe('INVALID_INPUT');
  });

  it('refuses leading, trailing and doubled spaces, and other spaces', async () => {
    for (const name of [' a.cmx.gz', 'a.cmx.gz ', 'a  b.cmx.gz', 'a\u00a0b.cmx.gz', 'a\u3000b.cmx.gz']) {
      expect(await code(backupName(dir, name, 'output_path')), JSON.stringify(name)).toBe('INVALID_INPUT');
    }
    expect(await code(backupName(dir, 'a b.cmx.gz', 'output_path'))).toBe('ok');
  });

  it('refuses a name that normalises to an existing backup or manifest, in either form', async () => {
    const d = tempDir('cmx-names-dup-');
    writeFileSync(join(d, '\u00e9t\u00e9.cmx.gz'), 'x');
    writeFileSync(join(d, 'A\u030a.cmx.gz.manifest.json'), '{}');
    expect(await code(refuseExisting(d, await backupName(d, 'e\u0301te\u0301.cmx.gz', 'output_path')))).toBe('DUPLICATE_OBJECT');
    expect(await code(refuseExisting(d, await backupName(d, '\u00e9t\u00e9.cmx.gz', 'output_path')))).toBe('DUPLICATE_OBJECT');
    // Only the manifest exists, under its NFD name: the NFC name is still taken.
    expect(await code(refuseExisting(d, await backupName(d, '\u00c5.cmx.gz', 'output_path')))).toBe('DUPLICATE_OBJECT');
    expect(await code(refuseExisting(d, await backupName(d, 'other.cmx.gz', 'output_path')))).toBe('ok');
  });

  it('restores a file stored under a non-NFC name by its exact name, and an NFC file by either spelling', async () => {
    const d = tempDir('cmx-names-legacy-');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cafe\u0301.cmx.gz'), 'x');
    expect(await backupName(d, 'cafe\u0301.cmx.gz', 'backup_path', true)).toBe('cafe\u0301.cmx.gz');
    expect(await backupName(d, 'caf\u00e9.cmx.gz', 'backup_path', true)).toBe('caf\u00e9.cmx.gz');
    writeFileSync(join(d, 'na\u00efve.cmx.gz'), 'x');
    expect(await backupName(d, 'nai\u0308ve.cmx.gz', 'backup_path', true)).toBe('na\u00efve.cmx.gz');
  });

  it('property: every accepted name is NFC and made only of allowed classes', async () => {
    const cp = fc.oneof(
      fc.integer({ min: 0, max: 0x10ffff }),
      fc.constantFrom(...REFUSED, 0x0301, 0x0308, 0x093f, 0x0902, 0x0e31, 0x1100, 0x1161, 0x11a8, 0x41, 0x65, 0x2d, 0x20),
      fc.integer({ min: 0x20, max: 0x7e }),
    );
    await fc.assert(fc.asyncProperty(fc.array(cp, { minLength: 1, maxLength: 12 }), async (cps) => {
      const given = cps.map((c) => (c >= 0xd800 && c <= 0xdfff ? String.fromCharCode(c) : String.fromCodePoint(c))).join('');
      const name = await backupName(dir, given, 'output_path').catch((e: DbError) => {
        if (e.code !== 'INVALID_INPUT') throw e;
        return null;
      });
      if (name === null) return;
      expect(name).toBe(name.normalize('NFC'));
      expect(name).toBe(given.normalize('NFC'));
      expect(refusedChar(name)).toBeNull();
      for (const ch of name) expect(/\p{Default_Ignorable_Code_Point}|\p{Cn}|\p{Co}|\p{Cs}|\p{Cc}|\p{Cf}|\p{Zl}|\p{Zp}/u.test(ch), `U+${ch.codePointAt(0)!.toString(16)}`).toBe(false);
      expect(name.trim()).toBe(name);
    }), { numRuns: 3000 });
  });
});
