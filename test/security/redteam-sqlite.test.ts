/**
 * Red-team corpus, SQLite: statements disguised by characters the engine reads as
 * whitespace or as part of a word (U+FEFF and other Unicode spaces), files created
 * through ATTACH and VACUUM INTO in their URI forms, and writes on a read-only
 * connection. Effects are read from the file system and a separate connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';
import { fill, runRedTeam, type Attack, type Witness } from './redteam.js';

const BACKENDS = process.env.BACKENDS?.split(',') ?? ['sqlite'];
const SPACES = ['\uFEFF', '\u00A0', '\u2003', '\u3000', '\u200B', '\u180E', '\u2028', '\u000B', '\u000C', '\u0085'];

const SHAPES: Array<[string, string]> = [
  ['attach', "{S}ATTACH DATABASE '{D}/a{N}.db' AS x{N}"],
  ['attach-short', "{S}ATTACH '{D}/b{N}.db' AS y{N}"],
  ['attach-uri', "{S}ATTACH 'file:{D}/c{N}.db?mode=rwc' AS z{N}"],
  ['vacuum-into', "{S}VACUUM INTO '{D}/v{N}.db'"],
  ['vacuum-schema-into', "{S}VACUUM main INTO '{D}/w{N}.db'"],
  ['pragma-temp-dir', "{S}PRAGMA temp_store_directory = '{D}'"],
  ['insert', "{S}INSERT INTO rt_data VALUES ({N} + 100, 'x')"],
  ['delete', '{S}DELETE FROM rt_data'],
  ['drop', '{S}DROP TABLE rt_data'],
  ['create', '{S}CREATE TABLE rt_new{N} (x)'],
  ['analyze', '{S}ANALYZE'],
  ['reindex', '{S}REINDEX'],
  ['pragma-query-only', '{S}PRAGMA query_only = 0'],
  ['pragma-journal', '{S}PRAGMA journal_mode = delete'],
  ['pragma-user-version', '{S}PRAGMA user_version = 77'],
  ['comment-then', "/* c */{S}ATTACH DATABASE '{D}/d{N}.db' AS q{N}"],
  ['line-comment-then', "-- c\n{S}VACUUM INTO '{D}/e{N}.db'"],
];

function attacks(values: Record<string, string>): Attack[] {
  const out: Attack[] = [];
  let n = 0;
  for (const [name, shape] of SHAPES) {
    for (const [i, s] of ['', ...SPACES].entries()) {
      n++;
      out.push({ id: `${name}-${i}`, sql: fill(shape, { ...values, S: s, N: n }), on: name.startsWith('insert') || name === 'delete' || name === 'drop' || name === 'create' || name.startsWith('pragma-') && name !== 'pragma-temp-dir' || name === 'analyze' || name === 'reindex' ? ['ro'] : ['ro', 'rw'] });
    }
  }
  out.push(
    { id: 'load-extension', sql: fill("SELECT load_extension('{D}/nothing')", values) },
    { id: 'writefile', sql: fill("SELECT writefile('{D}/wf', 'x')", values) },
    { id: 'fts3-tokenizer', sql: "SELECT fts3_tokenizer('simple')" },
    { id: 'tx-query-only', sql: ['\uFEFFPRAGMA query_only = 0', "INSERT INTO rt_data VALUES (999, 'x')"], on: ['ro'] },
    { id: 'tx-attach', sql: [fill("\uFEFFATTACH DATABASE '{D}/t.db' AS t", values), 'CREATE TABLE t.x (a)'] },
  );
  return out;
}

describe.runIf(BACKENDS.includes('sqlite'))('red team: SQLite', () => {
  let h: Harness;
  let dbDir = '';
  let outDir = '';
  let file = '';
  let base = '';

  function state(): string {
    const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
    return JSON.stringify({ db: readdirSync(dbDir).filter((f) => !/-(wal|shm|journal)$/.test(f)).sort(), out: readdirSync(outDir).sort(), hash });
  }

  beforeAll(async () => {
    const { default: Database } = await import('better-sqlite3');
    dbDir = tempDir('cmx-rt-lite-');
    outDir = tempDir('cmx-rt-lite-out-');
    file = join(dbDir, 'rt.db');
    const db = new Database(file);
    db.exec("CREATE TABLE rt_data (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO rt_data VALUES (1, 'a'), (2, 'b')");
    db.close();
    h = await startInProcess({ ro: { url: `sqlite://${file}`, read_only: true, statement_timeout_ms: 5000 } });
    base = state();
  });

  afterAll(async () => {
    await h?.close();
    rmSync(dbDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('no disguise reaches the file system or writes on a read-only connection', async () => {
    const witness: Witness = {
      token: 'no secret file on SQLite',
      async effects() {
        const now = state();
        return now === base ? [] : [`files or database changed: ${now}`];
      },
      async rebase() {
        base = state();
      },
    };
    const report = await runRedTeam(h, witness, attacks({ D: outDir }).map((a) => ({ ...a, on: ['ro' as const] })), 'sqlite read-only');
    expect(report.effects).toEqual([]);
  }, 300_000);

  it('no disguise reaches the file system on a read-write connection', async () => {
    const rwFile = join(dbDir, 'rw.db');
    const rw = await startInProcess({ rw: { url: `sqlite://${rwFile}`, statement_timeout_ms: 5000 } });
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(rwFile);
    db.exec("CREATE TABLE rt_data (id INTEGER PRIMARY KEY, v TEXT)");
    db.close();
    const listing = (): string => JSON.stringify([readdirSync(outDir).sort(), readdirSync(dbDir).filter((f) => !/-(wal|shm|journal)$/.test(f)).sort()]);
    let before = listing();
    try {
      const witness: Witness = {
        token: 'no secret file on SQLite',
        async effects() { const now = listing(); return now === before ? [] : [`files created: ${now}`]; },
        async rebase() { before = listing(); },
      };
      const escapes = attacks({ D: outDir }).filter((a) => (a.on ?? []).includes('rw'));
      const report = await runRedTeam(rw, witness, escapes.map((a) => ({ ...a, on: ['rw' as const] })), 'sqlite read-write');
      expect(report.effects).toEqual([]);
    } finally {
      await rw.close();
    }
  }, 300_000);
});
