/**
 * The SQLite tokenizer transcription (src/core/backends/sqlite/lexer.ts) on the cases that decide
 * a classification, each checked against better-sqlite3 in lexer-sqlite-diff.test.ts,
 * and the SQLite escape list in the spellings the engine accepts.
 */
import { describe, expect, it } from 'vitest';
import { classifySqlite } from '../../src/core/backends/sqlite/classify.js';
import { leadingKeywords, tokenize, translatePlaceholders } from '../support/sql.js';

const kinds = (sql: string): Array<[string, string]> => tokenize(sql, 'sqlite').map((t) => [t.kind, t.text]);

describe('SQLite tokens', () => {
  it('reads U+FEFF as whitespace where a token starts, and as a name character inside one', () => {
    expect(kinds('\uFEFFATTACH')).toEqual([['whitespace', '\uFEFF'], ['word', 'ATTACH']]);
    expect(kinds('a \uFEFFb\uFEFF')).toEqual([['word', 'a'], ['whitespace', ' '], ['whitespace', '\uFEFF'], ['word', 'b\uFEFF']]);
    expect(leadingKeywords('/* c */\uFEFF\uFEFFVACUUM INTO', 'sqlite', 2)).toEqual(['VACUUM', 'INTO']);
  });

  it('reads other Unicode spaces as name characters, as SQLite does', () => {
    for (const sp of ['\u00A0', '\u2000', '\u200B', '\u3000', '\u180E', '\u2028', '\u0085']) {
      expect(kinds(`ATTACH${sp}DATABASE`)).toEqual([['word', `ATTACH${sp}DATABASE`]]);
    }
  });

  it('starts whitespace only on space, \\t, \\n, \\f, \\r (a \\v only continues it)', () => {
    expect(kinds('a\vb')[1]).toEqual(['punct', '\v']);
    expect(kinds('a \vb')[1]).toEqual(['whitespace', ' \v']);
  });

  it('reads blobs, #name parameters, numbers glued to names, and `/*` at the very end', () => {
    expect(kinds("x'41'")).toEqual([['string', "x'41'"]]);
    expect(kinds("x'4g'")).toEqual([['string', "x'4g'"]]);
    expect(kinds('#p :a @b $c ?7 ?')).toEqual([['placeholder', '#p'], ['whitespace', ' '], ['placeholder', ':a'], ['whitespace', ' '], ['placeholder', '@b'], ['whitespace', ' '], ['placeholder', '$c'], ['whitespace', ' '], ['placeholder', '?7'], ['whitespace', ' '], ['placeholder', '?']]);
    expect(kinds('$a::b')).toEqual([['placeholder', '$a'], ['punct', ':'], ['placeholder', ':b']]); // no Tcl suffixes in this build
    expect(kinds('1abc 0b1 0x1F 1_000 .5e3')).toEqual([['number', '1abc'], ['whitespace', ' '], ['number', '0b1'], ['whitespace', ' '], ['number', '0x1F'], ['whitespace', ' '], ['number', '1_000'], ['whitespace', ' '], ['number', '.5e3']]);
    expect(kinds('1 /*')).toEqual([['number', '1'], ['whitespace', ' '], ['operator', '/'], ['operator', '*']]);
    expect(kinds('1 /* open')).toEqual([['number', '1'], ['whitespace', ' '], ['comment', '/* open']]);
  });

  it('refuses #name like the other native placeholder forms', () => {
    expect(() => translatePlaceholders('SELECT #p', [], 'sqlite')).toThrow(/#p is not supported/);
  });
});

describe('SQLite escapes (refused on every connection)', () => {
  it.each([
    ["\uFEFFATTACH DATABASE '/tmp/x.db' AS x", /ATTACH/],
    ["ATTACH/**/'x.db'/**/AS/**/y", /ATTACH/],
    ["\uFEFFVACUUM INTO '/tmp/x.db'", /VACUUM INTO/],
    ["\uFEFFPRAGMA temp_store_directory = '/tmp'", /temp_store_directory/],
    ["PRAGMA 'temp_store_directory' = '/tmp'", /temp_store_directory/],
    ["PRAGMA main.[TEMP_STORE_DIRECTORY]('/tmp')", /temp_store_directory/],
    ['PRAGMA writable_schema = ON', /writable_schema/],
    ["SELECT sqlite_attach('x', 'y', NULL)", /sqlite_attach/],
    ["SELECT `load_extension`('x')", /load_extension/],
    ["SELECT 1; ATTACH 'x' AS y", /ATTACH/],
    ["SELECT writefile('/tmp/x', 'y')", /writefile/],
    ["SELECT * FROM \uFEFFfsdir('/')", /fsdir/],
    ['SELECT "readfile" (\'/etc/hostname\')', /readfile/],
  ])('%j', (sql, reason) => {
    expect(classifySqlite(sql).escape).toMatch(reason);
  });

  it.each(["SELECT 'ATTACH x'", 'SELECT [ATTACH]', 'SELECT "VACUUM" AS into_', "SELECT 'load_extension'", 'SELECT ATTACH\u00A0x FROM t', 'SELECT edit, readfile FROM t'])('lets %j through', (sql) => {
    expect(classifySqlite(sql).escape).toBeUndefined();
  });

  it('folds names as SQLite does (ASCII only): ſ is not S', () => {
    expect(classifySqlite('ſELECT 1').readOnlyViolation).not.toBeNull();
    expect(classifySqlite('\uFEFFSELECT 1').readOnlyViolation).toBeNull();
    expect(classifySqlite('WITH x AS (SELECT 1) \uFEFFINSERT INTO t SELECT 1 FROM x').readOnlyViolation).toMatch(/INSERT/);
  });
});
