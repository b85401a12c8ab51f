/**
 * Review: CHAR columns on a server whose sql_mode has PAD_CHAR_TO_FULL_LENGTH (set
 * globally by an operator; our sessions keep the global sql_mode but for ANSI_QUOTES,
 * NO_BACKSLASH_ESCAPES and IGNORE_SPACE). The server then sends CHAR values padded to
 * their length. The driver-value path strips the padding (values.ts: "the canonical form
 * has none"); the process-made lines copy it. A private server, so the shared one's
 * sql_mode is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startPrivateMariadb, type PrivateDb } from '../faults/private-db.js';
import { compare, my } from './harness.js';

describe.runIf(my)('review: CHAR under a global PAD_CHAR_TO_FULL_LENGTH', () => {
  let db: PrivateDb;

  beforeAll(async () => {
    db = await startPrivateMariadb();
    const c = await mysql.createConnection(db.url);
    await c.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',PAD_CHAR_TO_FULL_LENGTH')");
    await c.end();
  }, 180_000);

  afterAll(async () => {
    await db?.destroy();
  });

  it('process-made lines equal the driver-value lines (padding stripped)', async () => {
    const r = await compare('id INT PRIMARY KEY, c CHAR(6) NULL, e ENUM(\'a\', \'bb\') NULL', ["(1, 'ab', 'a')", "(2, '', 'bb')", '(3, NULL, NULL)'], { base: db.url });
    expect.soft(r.processMade).toBe(true);
    expect.soft(r.v).toEqual(['[1,"ab","a"]', '[2,"","bb"]', '[3,null,null]']);
    expect.soft(r.l).toEqual(r.v);
    expect.soft(r.restoreError).toBeUndefined();
    expect.soft(r.restored).toEqual(r.source);
    expect.soft(r.shaAgain).toBe(r.sha);
  }, 120_000);
});
