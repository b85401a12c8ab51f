/**
 * MySQL names may be 64 characters, PostgreSQL keeps 63 bytes of a name (cutting the rest
 * with only a notice): a restore into PostgreSQL renamed the table, column and index unsaid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { MY, PG, callTool, mariadb, outcome, pair, type Json, type RoundTrip } from '../review15/harness.js';

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);
const [T, C, I] = ['t', 'c', 'i'].map((x) => x.repeat(64));

describe.runIf(have('mysql') && have('postgres'))('64-character MySQL names into PostgreSQL', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(MY, PG, 'lng');
    mariadb(rt.src.url, `CREATE TABLE ${T} (id INT PRIMARY KEY, ${C} INT, KEY ${I} (${C})); INSERT INTO ${T} VALUES (1, 2);`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('are listed with the names they become; without allow_lossy nothing is restored', async () => {
    expect(outcome(rt.backup)).toBe('ok');
    const path = (rt.backup as Json).data.backup;
    const refused = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path });
    expect(outcome(refused)).toMatch(/^UNSUPPORTED: .*longer than 63 bytes/);
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: path, allow_lossy: true });
    expect(outcome(r)).toBe('ok');
    const what = ((r as Json).data.lossy as Array<{ what: string }>).map((l) => l.what);
    for (const [kind, name] of [['table', T], ['column', C], ['index', I]]) expect(what).toContain(`${kind} name ${name} is longer than 63 bytes: PostgreSQL keeps ${name.slice(0, 63)}`);
  });
});
