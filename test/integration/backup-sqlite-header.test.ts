/**
 * A SQLite file's header holds two numbers an application owns: `user_version` (the
 * schema version migration tools read and write) and `application_id`. A portable backup
 * of a whole SQLite database carries them (objects of kind `setting`), a restore into
 * SQLite sets them, a restore into another backend lists them in `lossy`, and a backup
 * file whose setting is anything but those two PRAGMAs with a number is refused before
 * anything is touched (its SQL would run as it is).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

const dir = tempDir('cmx-sqlhdr-');
const backups = tempDir('cmx-sqlhdr-bk-');
const file = (name: string): string => join(dir, `${name}.db`);

/** A copy of a backup whose header's objects `edit` changed, under a new name, its manifest made to match. */
function forged(name: string, newName: string, edit: (objects: Array<Record<string, unknown>>) => void): void {
  const lines = gunzipSync(readFileSync(join(backups, name))).toString('utf8').split('\n');
  const header = JSON.parse(lines[0]!) as { objects?: Array<Record<string, unknown>> };
  edit(header.objects ??= []);
  lines[0] = JSON.stringify(header);
  const gz = gzipSync(lines.join('\n'));
  writeFileSync(join(backups, newName), gz);
  const manifest = JSON.parse(readFileSync(join(backups, `${name}.manifest.json`), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(backups, `${newName}.manifest.json`), JSON.stringify({ ...manifest, file: newName, size: gz.length, sha256: createHash('sha256').update(gz).digest('hex') }));
}

describe('the SQLite header numbers in portable backups', () => {
  let h: Harness;
  let pg: { url: string; drop(): Promise<void> } | undefined;
  const pgBackend = BACKENDS.find((b) => b.name === 'postgres');
  const pragma = async (c: string, name: string): Promise<unknown> => Object.values(rowsOf(await mustCall(h.client, 'execute_query', { connection: c, query: `PRAGMA ${name}` }))[0]!)[0];

  beforeAll(async () => {
    const src = new Database(file('src'));
    src.exec("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO note (body) VALUES ('a'), ('b')");
    src.pragma('user_version = 7');
    src.pragma('application_id = 1886221427');
    src.close();
    pg = pgBackend ? await freshDatabase(pgBackend, 'sqlhdr') : undefined;
    h = await startInProcess({
      src: { url: `sqlite://${file('src')}` }, copy: { url: `sqlite://${file('copy')}` }, bad: { url: `sqlite://${file('bad')}` },
      ...(pg ? { pg: { url: pg.url } } : {}),
    }, { backup_dir: backups });
    await mustCall(h.client, 'create_backup', { database: 'src', output_path: 'whole.cmx.gz' });
  });

  afterAll(async () => {
    await h?.close();
    await pg?.drop();
  });

  it('a restore into SQLite sets them as the source had them', async () => {
    const r = await mustCall(h.client, 'restore_backup', { database: 'copy', backup_path: 'whole.cmx.gz' });
    expect(r.lossy).toEqual([]);
    expect(await pragma('copy', 'user_version')).toBe(7);
    expect(await pragma('copy', 'application_id')).toBe(1886221427);
  });

  it.runIf(pgBackend)('a restore into PostgreSQL lists them in lossy, and needs allow_lossy', async () => {
    const refused = await callTool(h.client, 'restore_backup', { database: 'pg', backup_path: 'whole.cmx.gz' });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('UNSUPPORTED');
    const r = await mustCall(h.client, 'restore_backup', { database: 'pg', backup_path: 'whole.cmx.gz', allow_lossy: true });
    expect((r.lossy as Array<{ what: string }>).map((l) => l.what)).toEqual(expect.arrayContaining([expect.stringMatching(/^setting user_version\b/), expect.stringMatching(/^setting application_id\b/)]));
    expect(r.rows).toBe(2);
  });

  it.each([
    ['another PRAGMA under the name', (o: Array<Record<string, unknown>>) => o.push({ kind: 'setting', name: 'user_version', sql: 'PRAGMA writable_schema = 1' })],
    ['two statements', (o: Array<Record<string, unknown>>) => o.push({ kind: 'setting', name: 'user_version', sql: 'PRAGMA user_version = 1; DROP TABLE note' })],
    ['a name other than its PRAGMA', (o: Array<Record<string, unknown>>) => o.push({ kind: 'setting', name: 'application_id', sql: 'PRAGMA user_version = 1' })],
    ['not a number', (o: Array<Record<string, unknown>>) => o.push({ kind: 'setting', name: 'user_version', sql: "PRAGMA user_version = 'x'" })],
    ['past 32 bits (SQLite would set 0)', (o: Array<Record<string, unknown>>) => o.push({ kind: 'setting', name: 'user_version', sql: 'PRAGMA user_version = 9999999999' })],
  ])('a backup whose setting is %s is refused, nothing restored', async (what, edit) => {
    const name = `forged-${what.replaceAll(' ', '-')}.cmx.gz`;
    forged('whole.cmx.gz', name, edit);
    const r = await callTool(h.client, 'restore_backup', { database: 'bad', backup_path: name });
    expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'bad', query: 'SELECT count(*) AS n FROM sqlite_schema' }))[0]).toEqual({ n: 0 });
    expect(await pragma('bad', 'user_version')).toBe(0);
  });
});
