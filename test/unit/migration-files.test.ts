import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DbError } from '../../src/errors.js';
import { checksumOf, createMigrationFile, readMigrations } from '../../src/core/migrations/files.js';
import { statementsOf } from '../support/sql.js';

const root = mkdtempSync(join(tmpdir(), 'cmx-migration-files-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory holding exactly these files. */
function dirWith(files: Record<string, string>): string {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function failure(p: Promise<unknown>): Promise<DbError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DbError);
  return err as DbError;
}

/** readMigrations must refuse the directory with INVALID_INPUT naming `file`. */
async function refuses(files: Record<string, string>, file: string, message: RegExp): Promise<DbError> {
  const err = await failure(readMigrations(dirWith(files)));
  expect(err.code).toBe('INVALID_INPUT');
  expect(err.details.file).toBe(file);
  expect(err.message).toContain(file);
  expect(err.message).toMatch(message);
  return err;
}

describe('readMigrations', () => {
  it('reads a single file with up and down sections', async () => {
    const dir = dirWith({
      '1_create_users.sql': '-- creates users\n\n-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n',
    });
    const [m, ...rest] = await readMigrations(dir);
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ version: 1n, versionText: '1', name: 'create_users', noTransaction: false, files: ['1_create_users.sql'] });
    expect(m.up).toBe('CREATE TABLE users (id int);\n\n');
    expect(m.down).toBe('DROP TABLE users;\n');
    expect(m.checksum).toBe(checksumOf('CREATE TABLE users (id int);'));
  });

  it('reads the .up.sql/.down.sql pair, down optional', async () => {
    const dir = dirWith({
      '0001_a.up.sql': 'CREATE TABLE a (id int);\n',
      '0001_a.down.sql': 'DROP TABLE a;\n',
      '0002_b.up.sql': 'CREATE TABLE b (id int);\n',
    });
    const [a, b] = await readMigrations(dir);
    expect(a).toMatchObject({ version: 1n, versionText: '0001', name: 'a', up: 'CREATE TABLE a (id int);\n', down: 'DROP TABLE a;\n' });
    expect(a.files).toEqual(['0001_a.up.sql', '0001_a.down.sql']);
    expect(b).toMatchObject({ version: 2n, name: 'b', down: null, files: ['0002_b.up.sql'] });
  });

  it('reads the names real folders use: dots, dashes and capitals (golang-migrate, as in Mattermost)', async () => {
    const dir = dirWith({
      '000056_upgrade_channels_v6.0.up.sql': 'SELECT 56;',
      '000056_upgrade_channels_v6.0.down.sql': 'SELECT -56;',
      '000089_add-channelid-to-reaction.up.sql': 'SELECT 89;',
      '000090_AddUsers.sql': '-- migrate:up\nSELECT 90;\n',
    });
    const all = await readMigrations(dir);
    expect(all.map((m) => [m.version, m.name, m.down !== null])).toEqual([
      [56n, 'upgrade_channels_v6.0', true],
      [89n, 'add-channelid-to-reaction', false],
      [90n, 'AddUsers', false],
    ]);
  });

  it('mixes both conventions and sorts numerically, not by file name', async () => {
    const dir = dirWith({
      '20240131120000_c.sql': '-- migrate:up\nSELECT 3;\n',
      '10_b.up.sql': 'SELECT 2;',
      '2_a.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 0;\n',
    });
    const all = await readMigrations(dir);
    expect(all.map((m) => m.version)).toEqual([2n, 10n, 20240131120000n]);
    expect(all.map((m) => m.name)).toEqual(['a', 'b', 'c']);
  });

  it('has no migrations for a missing directory and ignores what is not a migration', async () => {
    expect(await readMigrations(join(root, 'does-not-exist'))).toEqual([]);
    const dir = dirWith({
      'README.md': '1_x',
      '1_notes.txt': 'not sql',
      '.2_hidden.sql': 'garbage',
      'seed.sql': 'INSERT INTO t VALUES (1);',
      '3_real.sql': '-- migrate:up\nSELECT 1;\n',
    });
    expect((await readMigrations(dir)).map((m) => m.files[0])).toEqual(['3_real.sql']);
  });

  it('reads markers case-insensitively, indented, with CRLF line endings', async () => {
    const dir = dirWith({ '5_crlf.sql': '\uFEFF-- header\r\n  -- MIGRATE:UP  \r\nSELECT 1;\r\n\t--Migrate:Down\r\nSELECT 2;\r\n' });
    const [m] = await readMigrations(dir);
    expect(m.up).toBe('SELECT 1;\r\n');
    expect(m.down).toBe('SELECT 2;\r\n');
    expect(m.checksum).toBe(checksumOf('SELECT 1;'));
  });

  it('sets noTransaction from the header, the up section or an .up.sql file, and only then', async () => {
    const dir = dirWith({
      '1_header.sql': '-- migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY i ON t (a);\n',
      '2_in_up.sql': '-- migrate:up\nSELECT 1;\n-- migrate:no-transaction\nSELECT 2;\n-- migrate:down\nSELECT 3;\n',
      '3_pair.up.sql': 'SELECT 1;\n  -- Migrate:No-Transaction\n',
      '4_plain.sql': '-- migrate:up\n-- migrate no-transaction is only a comment here\nSELECT 1;\n',
    });
    expect((await readMigrations(dir)).map((m) => m.noTransaction)).toEqual([true, true, true, false]);
  });

  it('treats a down section without statements as no down at all', async () => {
    const dir = dirWith({
      '1_a.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing to undo\n\n',
      '2_b.up.sql': 'SELECT 1;',
      '2_b.down.sql': '/* nothing */\n',
      '3_c.sql': '-- migrate:up\nSELECT 1;\n',
    });
    expect((await readMigrations(dir)).map((m) => m.down)).toEqual([null, null, null]);
  });

  describe('refuses, naming the file', () => {
    it('two files with the same version', async () => {
      const err = await refuses({ '1_a.sql': '-- migrate:up\nSELECT 1;', '01_b.up.sql': 'SELECT 2;' }, '1_a.sql', /01_b\.up\.sql/);
      expect(err.details.files).toEqual(['01_b.up.sql', '1_a.sql']);
    });

    it.each(['1-init.sql', '20240101.sql', '7_a.SQL', '3x_a.sql'])('%s, which looks like a migration but matches no pattern', async (file) => {
      await refuses({ [file]: '-- migrate:up\nSELECT 1;' }, file, /looks like a migration/);
    });

    it.each(['1_.sql', '1_a b.sql', '1_a$b.sql', '1_\u00e9t\u00e9.sql', '1_-a.sql', '1_.a.sql'])('%s, whose name has other characters', async (file) => {
      await refuses({ [file]: '-- migrate:up\nSELECT 1;' }, file, /may only contain letters/);
    });

    it.each(['1_a.UP.sql', '1_a.Down.sql'])('%s, whose section suffix is in the wrong case', async (file) => {
      await refuses({ [file]: '-- migrate:up\nSELECT 1;' }, file, /ends like a section suffix/);
    });

    it('a version beyond a 64-bit integer', async () => {
      await refuses({ '9223372036854775808_a.sql': '-- migrate:up\nSELECT 1;' }, '9223372036854775808_a.sql', /64-bit/);
    });

    it.each([
      ['1_a.sql', '-- migrate:up\n\n-- migrate:down\nSELECT 1;\n'],
      ['1_a.sql', '-- migrate:up\n-- only a comment\n/* and another */\n'],
      ['1_a.up.sql', '  \n'],
    ])('%s, whose up section is empty', async (file, text) => {
      await refuses({ [file]: text }, file, /up section has no statements/);
    });

    it.each([
      [{ '1_a.down.sql': 'SELECT 1;' }, '1_a.down.sql'],
      [{ '1_a.up.sql': 'SELECT 1;', '1_b.down.sql': 'SELECT 2;' }, '1_b.down.sql'],
      [{ '1_a.sql': '-- migrate:up\nSELECT 1;', '1_a.down.sql': 'SELECT 2;' }, '1_a.down.sql'],
    ])('a .down.sql without its .up.sql (%#)', async (files, file) => {
      await refuses(files, file, /has no matching 1_\w+\.up\.sql/);
    });

    it('statements before the first marker, with the line', async () => {
      const err = await refuses({ '1_a.sql': '-- ok\nDROP TABLE t;\n-- migrate:up\nSELECT 1;' }, '1_a.sql', /before -- migrate:up/);
      expect(err.details.line).toBe(2);
    });

    it.each([
      ['SELECT 1;\n', /no -- migrate:up/],
      ['-- migrate:up\nSELECT 1;\n-- migrate:dwon\nSELECT 2;\n', /unknown marker "-- migrate:dwon"/],
      ['-- migrate:up\nSELECT 1;\n-- migrate:down -- undo\nSELECT 2;\n', /unknown marker/],
      ['-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n', /second -- migrate:up/],
      ['-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n', /down comes before/],
      ['-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:down\n', /second -- migrate:down/],
      ['-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:no-transaction\nSELECT 2;\n', /no-transaction belongs/],
    ])('malformed markers: %j', async (text, message) => {
      await refuses({ '1_a.sql': text }, '1_a.sql', message);
    });

    it('up/down markers inside a pair file', async () => {
      await refuses({ '1_a.up.sql': 'SELECT 1;\n-- migrate:down\nDROP TABLE t;\n' }, '1_a.up.sql', /single-file/);
      await refuses({ '1_a.up.sql': 'SELECT 1;', '1_a.down.sql': '-- migrate:down\nSELECT 2;' }, '1_a.down.sql', /single-file/);
    });

    it('a symlink, even to a valid migration', async () => {
      const outside = dirWith({ '1_a.sql': '-- migrate:up\nSELECT 1;' });
      const dir = dirWith({});
      symlinkSync(join(outside, '1_a.sql'), join(dir, '1_a.sql'));
      const err = await failure(readMigrations(dir));
      expect(err).toMatchObject({ code: 'INVALID_INPUT', details: { file: '1_a.sql' } });
      expect(err.message).toMatch(/regular files/);
    });

    it('a directory named like a migration, and invalid UTF-8', async () => {
      const dir = dirWith({});
      mkdirSync(join(dir, '1_a.sql'));
      expect(await failure(readMigrations(dir))).toMatchObject({ code: 'INVALID_INPUT', details: { file: '1_a.sql' } });
      const bad = dirWith({});
      writeFileSync(join(bad, '2_b.up.sql'), Buffer.from([0x53, 0x45, 0xff, 0x3b]));
      expect(await failure(readMigrations(bad))).toMatchObject({ code: 'INVALID_INPUT', details: { file: '2_b.up.sql' } });
    });
  });
});

describe('checksumOf', () => {
  const base = "CREATE TABLE t (a text DEFAULT 'x');\nINSERT INTO t VALUES ('hello');";

  it('is the SHA-256 hex of the normalised text', () => {
    expect(checksumOf(base)).toBe(createHash('sha256').update(base).digest('hex'));
  });

  it('ignores line endings, trailing whitespace, blank edge lines and a BOM', () => {
    const variants = [
      base.replace(/\n/g, '\r\n'),
      base.replace(/\n/g, '\r'),
      base.replace(/;/g, ';  \t'),
      `\n\n  \n${base}\n\n \n`,
      `\uFEFF${base}\r\n`,
    ];
    for (const v of variants) expect(checksumOf(v)).toBe(checksumOf(base));
  });

  it('changes with any statement change, even inside a literal or in indentation', () => {
    const changed = [base.replace("'hello'", "'hellO'"), base.replace("'hello'", "'hello '"), base.replace('INSERT', '  INSERT'), base + '\nSELECT 1;'];
    for (const c of changed) expect(checksumOf(c)).not.toBe(checksumOf(base));
  });
});

describe('statementsOf', () => {
  it('drops the \\restrict markers of a pg_dump file and refuses other psql meta-commands, naming the line', () => {
    const dump = '\\restrict AbC123\n\nSET statement_timeout = 0;\nCREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n\\x is text here\n$$;\nCOMMENT ON TABLE t IS \'a\n\\b\';\n\n\\unrestrict AbC123\n';
    const got = statementsOf(dump, 'postgres');
    expect(got.map((x) => x.trim())).toEqual([
      'SET statement_timeout = 0',
      'CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n\\x is text here\n$$',
      "COMMENT ON TABLE t IS 'a\n\\b'",
    ]);
    expect(() => statementsOf('SELECT 1;\n\\connect other\nSELECT 2;', 'postgres')).toThrow(/line 2 is a psql meta-command \(\\connect\)/);
  });

  it('drops comment-only statements and keeps bodies whole', () => {
    const sql = "-- migrate:no-transaction\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* x */;\n-- trailing\n";
    // A comment leading a real statement stays with it; only statements with nothing else are dropped.
    expect(statementsOf(sql, 'postgres')).toEqual(['-- migrate:no-transaction\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql']);
    expect(statementsOf('DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\n-- end\n', 'mysql')).toEqual([
      'CREATE PROCEDURE p() BEGIN SELECT 1; END',
    ]);
  });
});

describe('createMigrationFile', () => {
  afterEach(() => vi.useRealTimers());
  const at = (iso: string): void => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(iso));
  };

  it('names the file by the UTC time and writes a file readMigrations reads back', async () => {
    at('2024-01-31T12:34:56.789Z');
    const dir = join(root, `new${n++}`, 'nested');
    const made = await createMigrationFile(dir, 'add_users', '\nCREATE TABLE users (id int);\n', 'DROP TABLE users;', [3n]);
    expect(made).toEqual({ file: '20240131123456_add_users.sql', version: '20240131123456' });
    const [m] = await readMigrations(dir);
    expect(m).toMatchObject({ version: 20240131123456n, name: 'add_users', noTransaction: false, files: [made.file] });
    expect(m.up.trim()).toBe('CREATE TABLE users (id int);');
    expect(m.down?.trim()).toBe('DROP TABLE users;');
    expect(readdirSync(dir)).toEqual([made.file]);
  });

  it('omits the down section when there is none, saying so, and keeps no-transaction', async () => {
    const dir = dirWith({});
    const made = await createMigrationFile(dir, 'idx', '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);', null, []);
    const text = readFileSync(join(dir, made.file), 'utf8');
    expect(text).not.toMatch(/migrate:down/);
    expect(text).toMatch(/cannot be rolled back/);
    expect(await readMigrations(dir)).toMatchObject([{ down: null, noTransaction: true }]);
  });

  it('picks one more than the highest version when the clock is behind', async () => {
    at('2024-01-31T12:00:00Z');
    const given = await createMigrationFile(dirWith({}), 'a', 'SELECT 1;', null, [5n, 99990101000000n, 7n]);
    expect(given.version).toBe('99990101000001');
    const dir = dirWith({ '20250101000000_later.sql': '-- migrate:up\nSELECT 1;' });
    expect((await createMigrationFile(dir, 'b', 'SELECT 2;', null, [1n])).version).toBe('20250101000001');
    expect((await createMigrationFile(dir, 'c', 'SELECT 3;', null, [1n])).version).toBe('20250101000002');
  });

  it('never overwrites: racing writers of one name get DUPLICATE_OBJECT or their own file', async () => {
    at('2024-01-31T12:00:00Z');
    const dir = dirWith({});
    const calls = Array.from({ length: 6 }, (_, i) => createMigrationFile(dir, 'same', `SELECT ${i};`, null, []));
    const results = await Promise.allSettled(calls);
    const made = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, file: r.value.file }] : []));
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'DUPLICATE_OBJECT' });
    expect(made.length).toBeGreaterThan(0);
    for (const { i, file } of made) expect(readFileSync(join(dir, file), 'utf8')).toContain(`SELECT ${i};`);
    expect(readdirSync(dir).sort()).toEqual(made.map((m) => m.file).sort());
  });

  it.each(['AddUsers', '1abc', '', 'add-users', 'add users', '_x', 'a'.repeat(101), 'é'])('refuses the name %j', async (name) => {
    const dir = join(root, `never${n++}`);
    const err = await failure(createMigrationFile(dir, name, 'SELECT 1;', null, []));
    expect(err.code).toBe('INVALID_INPUT');
    expect(() => readdirSync(dir)).toThrow();
  });

  it('accepts the longest and shortest names', async () => {
    const dir = dirWith({});
    await createMigrationFile(dir, 'a', 'SELECT 1;', null, []);
    await createMigrationFile(dir, 'a'.repeat(100), 'SELECT 1;', null, []);
    expect((await readMigrations(dir)).map((m) => m.name.length)).toEqual([1, 100]);
  });

  it.each<[string, string, string | null, RegExp]>([
    ['empty up', '-- nothing\n', null, /up has no statements/],
    ['empty down', 'SELECT 1;', '  ', /down has no statements: leave down out/],
    ['marker in up', 'SELECT 1;\n-- migrate:down\nSELECT 2;', null, /up must not contain "-- migrate:"/],
    ['marker in down', 'SELECT 1;', '-- migrate:no-transaction\nSELECT 2;', /down must not contain/],
  ])('refuses %s and writes nothing', async (_, up, down, message) => {
    const dir = dirWith({});
    const err = await failure(createMigrationFile(dir, 'x', up, down, []));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
  });
});
