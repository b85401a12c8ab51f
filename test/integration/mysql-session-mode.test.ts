/**
 * Our MySQL/MariaDB sessions read quotes as the read-only lexer does, whatever sql_mode the
 * server starts a session in (a reset falls back to the global one): ANSI_QUOTES and
 * NO_BACKSLASH_ESCAPES go, and so do the combinations that bring ANSI_QUOTES back with them
 * (ANSI, ORACLE, MSSQL …, which MariaDB keeps in the mode and expands again). The shared
 * server's global mode is left alone: each starting mode is set on a session of this test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { BACKENDS, MYSQL_URL } from '../support/backends.js';
import { sessionSqlMode } from '../../src/core/backends/mysql/pool.js';

describe.runIf(BACKENDS.some((b) => b.name === 'mysql'))('our MySQL session sql_mode', () => {
  let c: mysql.Connection;
  beforeAll(async () => { c = await mysql.createConnection(MYSQL_URL); });
  afterAll(async () => { await c?.end(); });

  it.each(['MSSQL', 'ANSI', 'ORACLE', 'DB2,NO_BACKSLASH_ESCAPES', 'POSTGRESQL', 'MAXDB', 'ANSI_QUOTES,IGNORE_SPACE,STRICT_TRANS_TABLES', 'TRADITIONAL,ANSI'])('from %s: no quoting of its own, the other flags kept', async (start) => {
    await c.query(`SET SESSION sql_mode = '${start}'`);
    const [[before]] = await c.query('SELECT @@SESSION.sql_mode AS m') as unknown as [[{ m: string }]];
    await c.query(`SET SESSION sql_mode = ${sessionSqlMode()}`);
    const [[after]] = await c.query('SELECT @@SESSION.sql_mode AS m') as unknown as [[{ m: string }]];
    const flags = after.m.split(',');
    for (const f of ['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES', 'IGNORE_SPACE', 'ANSI', 'ORACLE', 'MSSQL', 'DB2', 'POSTGRESQL', 'MAXDB']) expect([start, flags.includes(f)]).toEqual([start, false]);
    // What does not touch quoting stays (strict mode, PIPES_AS_CONCAT …).
    for (const f of before.m.split(',').filter((x) => ['STRICT_TRANS_TABLES', 'PIPES_AS_CONCAT', 'ERROR_FOR_DIVISION_BY_ZERO'].includes(x))) expect(flags).toContain(f);
  });
});
