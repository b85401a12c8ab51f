/**
 * MariaDB data written under a permissive sql_mode (Northwind's script runs with
 * ALLOW_INVALID_DATES): a native restore stored '2024-02-30' as 0000-00-00 with only a
 * warning, and a portable one failed (strict mode). And keys one value apart only in case:
 * restored from SQLite into MariaDB, whose collation makes them one, the failure said only
 * `Got error 1 "Operation not permitted" during COMMIT`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BACKENDS } from '../support/backends.js';
import { LITE, MY, PG, callTool, mariadb, outcome, pair, type Json, type RoundTrip } from '../review15/harness.js';

const have = (n: string): boolean => BACKENDS.some((b) => b.name === n);
const DATES = "SELECT GROUP_CONCAT(id, ':', d, ':', dt ORDER BY id SEPARATOR ' ') FROM inv";

describe.runIf(have('mysql')).each(['portable', 'native'] as const)('MariaDB dates kept under ALLOW_INVALID_DATES, %s', (format) => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(MY, MY, `md${format[0]}`);
    mariadb(rt.src.url, `SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
      CREATE TABLE inv (id INT PRIMARY KEY, d DATE, dt DATETIME);
      INSERT INTO inv VALUES (1, '2024-02-30', '2024-04-31 10:00:00'), (2, '2024-01-01', '2024-01-01 00:00:00'), (3, NULL, NULL);`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', format });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores the dates the source holds, as they are', () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    expect(mariadb(rt.dst.url, DATES).trim()).toBe(mariadb(rt.src.url, DATES).trim());
    expect(mariadb(rt.dst.url, DATES)).toContain('2024-02-30');
  });
});

const ENUMS = "SELECT GROUP_CONCAT(id, ':', e, ':', e + 0, ':', s, ':', s + 0 ORDER BY id SEPARATOR ' ') FROM en";

describe.runIf(have('mysql')).each(['portable', 'native'] as const)('MariaDB ENUM error value (\'\', stored by a non-strict source), %s', (format) => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(MY, MY, `me${format[0]}`);
    mariadb(rt.src.url, `SET SESSION sql_mode = '';
      CREATE TABLE en (id INT PRIMARY KEY, e ENUM('a', 'b'), s SET('x', 'y'), d DATE);
      INSERT INTO en VALUES (1, 'zzz', 'x,q', '2024-01-01'), (2, 'b', 'y', NULL), (3, NULL, '', NULL);`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', format });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('restores it as the error value (index 0), the other rows as they are', () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    expect(mariadb(rt.dst.url, ENUMS).trim()).toBe(mariadb(rt.src.url, ENUMS).trim());
    expect(mariadb(rt.dst.url, ENUMS)).toContain('1::0:x:1');
  });

  it('keeps strict mode for a table the restore did not make from the source\'s DDL (append into one of the target\'s)', async () => {
    if (format === 'native') return;
    mariadb(rt.dst.url, "DROP TABLE en; CREATE TABLE en (id INT PRIMARY KEY, e ENUM('a', 'b'), s SET('x', 'y'), d DATE)");
    const r = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup!.ok ? rt.backup!.data.backup : '', mode: 'append' });
    expect(r.ok ? 'ok' : r.error.code).toBe('DATA_ERROR');
    expect(mariadb(rt.dst.url, 'SELECT count(*) FROM en').trim()).toBe('0');
  });
});

describe.runIf(have('mysql') && have('sqlite'))('SQLite keys that MariaDB\'s collation makes one', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(LITE, MY, 'mdk');
    const db = new Database(rt.src.url.replace(/^sqlite:\/\//, ''));
    db.exec("CREATE TABLE t (k VARCHAR(10) PRIMARY KEY, v INTEGER); INSERT INTO t VALUES ('b', 1), ('B', 2);");
    db.close();
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, allow_lossy: true });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('fails as a key violation that says why, leaving no table', () => {
    expect(outcome(rt.backup)).toBe('ok');
    expect(rt.restore?.ok).toBe(false);
    const e = (rt.restore as Json).error;
    expect(e.code, e.message).toBe('CONSTRAINT_VIOLATION');
    expect(e.message).toMatch(/ignore case/);
    expect(mariadb(rt.dst.url, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'").trim()).toBe('0');
  });
});

describe.runIf(have('mysql') && have('postgres'))('a MariaDB table comment and partitioning, into PostgreSQL', () => {
  let rt: RoundTrip;
  beforeAll(async () => {
    rt = await pair(MY, PG, 'mdp');
    mariadb(rt.src.url, `CREATE TABLE t (id INT, d DATE, PRIMARY KEY (id, d)) COMMENT='table ''c'' ü'
      PARTITION BY RANGE (YEAR(d)) (PARTITION p0 VALUES LESS THAN (2000), PARTITION p1 VALUES LESS THAN MAXVALUE);
      CREATE TABLE plain (id INT PRIMARY KEY);
      INSERT INTO t VALUES (1, '1999-01-01'), (2, '2024-01-01');`);
    rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src' });
    if (rt.backup.ok) rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, allow_lossy: true });
  }, 60_000);
  afterAll(async () => { await rt?.close(); });

  it('are listed as lost (they were dropped unsaid), and get_schema reports them', async () => {
    expect([outcome(rt.backup), outcome(rt.restore)]).toEqual(['ok', 'ok']);
    const lossy = (rt.restore as Json).data.lossy as Array<{ table: string; what: string }>;
    expect(lossy.filter((l) => l.table === 't').map((l) => l.what).join(' | ')).toMatch(/partitioned.*comment|comment.*partitioned/);
    expect(lossy.filter((l) => l.table === 'plain')).toEqual([]);
    const schema = await callTool(rt.h.client, 'get_schema', { connection: 'src', table: 't' });
    expect(JSON.stringify(schema.ok ? schema.data : schema)).toMatch(/"unportable":\["partitioned","a comment on the table"\]/);
  });
});
