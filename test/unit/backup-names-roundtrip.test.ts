/**
 * Backup names through the tools (SQLite, in process): every name create_backup accepts
 * is NFC, made of allowed classes, shown by list_backups exactly, and restorable by that
 * name. A file put in the directory under a non-NFC name is listed as it is on disk and
 * restored by that exact name (SPEC §17.4).
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedChar } from '../../src/core/backup/paths.js';
import { tempDir } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';

describe('backup names round-trip through create_backup, list_backups and restore_backup', () => {
  const backupDir = tempDir('cmx-names-rt-');
  let h: Harness;
  let accepted = 0;
  let refused = 0;

  beforeAll(async () => {
    h = await startInProcess({ db: { url: `sqlite://${join(tempDir(), 'names.db')}` } }, { backup_dir: backupDir });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)' });
    await mustCall(h.client, 'execute_query', { connection: 'db', query: "INSERT INTO t VALUES (1, 'x')" });
  });
  afterAll(async () => {
    await h?.close();
    console.error(`[security] backup names: ${accepted} accepted and round-tripped, ${refused} refused`);
  });

  const listed = async (): Promise<string[]> => ((await mustCall(h.client, 'list_backups', {})).backups as Array<{ name: string }>).map((b) => b.name);

  it('property: accepted names are NFC, allowed, listed exactly and restorable; NFD spellings of them are refused', async () => {
    const cp = fc.oneof(
      { arbitrary: fc.constantFrom(...Array.from('abcXYZ019-_. éüßçñøå日本語한국ภาษาहिंदीΕλληνικάкириллица', (c) => c.codePointAt(0) as number)), weight: 6 },
      fc.constantFrom(0x61, 0x65, 0x41, 0x7a, 0x30, 0x2d, 0x5f, 0x2e, 0x20, 0xe9, 0x0301, 0x0308, 0x034f, 0x3164, 0xfe0f, 0x180e, 0x2028, 0x200b,
        0x202e, 0x2060, 0xfeff, 0x115f, 0x1160, 0xffa0, 0x180b, 0xe0041, 0xe0100, 0xfdd0, 0xe000, 0x0378, 0x0939, 0x093f, 0x0902, 0x1100, 0x1161, 0xac00),
      fc.integer({ min: 0x20, max: 0x2fff }),
      fc.integer({ min: 0, max: 0x10ffff }),
    );
    await fc.assert(fc.asyncProperty(fc.array(cp, { minLength: 1, maxLength: 8 }), async (cps) => {
      const stem = cps.map((c) => (c >= 0xd800 && c <= 0xdfff ? String.fromCharCode(c) : String.fromCodePoint(c))).join('');
      const given = `n${accepted + refused}-${stem}.cmx.gz`;
      const r = await callTool(h.client, 'create_backup', { database: 'db', output_path: given });
      if (!r.ok) {
        expect(r.error.code, given).toBe('INVALID_INPUT');
        refused++;
        return;
      }
      accepted++;
      const name = r.data.backup as string;
      expect(name).toBe(given.normalize('NFC'));
      expect(refusedChar(name)).toBeNull();
      expect(readdirSync(backupDir)).toContain(name);
      expect(await listed()).toContain(name);
      // Restoring is slow (a transaction and checksums): every fifth accepted name.
      if (accepted % 5 === 1) {
        const restored = await callTool(h.client, 'restore_backup', { database: 'db', backup_path: name, mode: 'replace' });
        expect(restored.ok ? 'ok' : restored.error.message).toBe('ok');
      }
      // Another spelling of the same name is the same name: refused as a duplicate.
      const nfd = name.normalize('NFD');
      if (nfd !== name) {
        const again = await callTool(h.client, 'create_backup', { database: 'db', output_path: nfd });
        expect(again.ok ? 'ok' : again.error.code).toBe('DUPLICATE_OBJECT');
      }
    }), { numRuns: 80 });
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
  }, 120_000);

  it('lists a non-NFC file as it is on disk and restores it by that exact name', async () => {
    await mustCall(h.client, 'create_backup', { database: 'db', output_path: 'legacy-src.cmx.gz' });
    const nfd = 'legacy-cafe\u0301.cmx.gz';
    copyFileSync(join(backupDir, 'legacy-src.cmx.gz'), join(backupDir, nfd));
    // The manifest as if the whole backup had been made under the NFD name (copied in by hand).
    const manifest = JSON.parse(readFileSync(join(backupDir, 'legacy-src.cmx.gz.manifest.json'), 'utf8')) as { file: string };
    writeFileSync(join(backupDir, `${nfd}.manifest.json`), JSON.stringify({ ...manifest, file: nfd }));
    expect(await listed()).toContain(nfd);
    const r = await callTool(h.client, 'restore_backup', { database: 'db', backup_path: nfd, mode: 'replace' });
    expect(r.ok ? 'ok' : `${r.error.code} ${r.error.message}`).toBe('ok');
    // Its NFC spelling cannot be created beside it.
    const dup = await callTool(h.client, 'create_backup', { database: 'db', output_path: nfd.normalize('NFC') });
    expect(dup.ok ? 'ok' : dup.error.code).toBe('DUPLICATE_OBJECT');
  });
});
