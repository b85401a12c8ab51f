/**
 * Issue 14, class 6 on SQLite: escapes and read-only bypasses in every encoding that
 * could make our lexer and SQLite's disagree (U+FEFF at the start, in the middle, after
 * a comment; other Unicode spaces; case; comments between tokens; quoted keywords; odd
 * ASCII whitespace), through execute_query, execute_transaction and
 * monitor_query_performance, on a read-only and a read-write connection.
 *
 * Effects are checked outside the server: the files of the database's directory, of a
 * watched output directory and of the working directory (relative ATTACH targets land
 * there), the bytes of the database file after the read-only phase, and a separate
 * better-sqlite3 connection's view of the rows. A sanity pass first shows, on a scratch
 * database with better-sqlite3 itself, that the plain and BOM-led forms really do act.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startInProcess, type Harness, type ToolOutcome } from '../support/mcp.js';
import { tempDir } from '../support/backends.js';

const TAG = `cmxsec${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const work = tempDir('cmx-sqlite-lexer-');
const out = join(work, 'out');
mkdirSync(out);
const dbFile = join(work, 'main.db');

/** Escapes: refused on every connection. `@` is a fresh target file for each use. */
const ESCAPES = [
  "ATTACH DATABASE '@' AS x",
  "ATTACH '@' AS x",
  "ATTACH 'file:@?mode=rwc' AS x",
  `ATTACH 'file:${TAG}-uri.db?mode=rwc' AS x`,
  `ATTACH '${TAG}-rel.db' AS x`,
  "VACUUM INTO '@'",
  "VACUUM main INTO '@'",
  "VACUUM 'main' INTO '@'",
  `PRAGMA temp_store_directory = '${out}'`,
  `PRAGMA 'temp_store_directory' = '${out}'`,
  `PRAGMA main.temp_store_directory('${out}')`,
  'PRAGMA writable_schema = ON',
  "SELECT load_extension('@')",
  "SELECT fts3_tokenizer('simple')",
];

/** Writes: refused on the read-only connection (the read-write one may run them). */
const WRITES = [
  "INSERT INTO t VALUES (99, 'x')",
  "WITH x AS (SELECT 1) INSERT INTO t SELECT 99, 'x' FROM x",
  'DELETE FROM t',
  "UPDATE t SET b = 'pwned'",
  "REPLACE INTO t VALUES (1, 'x')",
  'CREATE TABLE pwn (a)',
  'DROP TABLE t',
  'PRAGMA query_only = OFF',
  'PRAGMA user_version = 42',
  'CREATE TEMP TABLE tt (a)',
  'PRAGMA journal_mode = WAL',
];

const UNICODE_SPACES = ['\u00A0', '\u2000', '\u2005', '\u200A', '\u200B', '\u3000', '\u180E', '\u2028', '\u0085'];

/** Ways to write a statement: each maps its space-separated words to a text. */
const ENCODINGS: Array<[string, (words: string[]) => string]> = [
  ['plain', (w) => w.join(' ')],
  ['BOM first', (w) => `\uFEFF${w.join(' ')}`],
  ['two BOMs first', (w) => `\uFEFF\uFEFF${w.join(' ')}`],
  ['BOM between tokens', (w) => w.join(' \uFEFF')],
  ['BOM as the only separator', (w) => w.join('\uFEFF')],
  ['BOM after a block comment', (w) => `/* c */\uFEFF${w.join(' ')}`],
  ['BOM after a line comment', (w) => `-- c\n\uFEFF${w.join(' ')}`],
  ['BOM before the semicolon', (w) => `${w.join(' ')}\uFEFF;`],
  ...UNICODE_SPACES.map((sp): [string, (w: string[]) => string] => [`U+${sp.charCodeAt(0).toString(16).padStart(4, '0')} separators`, (w) => w.join(sp)]),
  ['U+00A0 first', (w) => `\u00A0${w.join(' ')}`],
  ['mixed case', (w) => w.map((x) => (/^[A-Za-z_]+$/.test(x) ? [...x].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join('') : x)).join(' ')],
  ['comments between tokens', (w) => w.join('/**/')],
  ['line comments between tokens', (w) => w.join('-- x\n')],
  ['newlines, tabs, form feeds', (w) => w.join('\n\t\f\r')],
  ['vertical tab after a space', (w) => w.join(' \v')],
  ['bracket-quoted first word', (w) => [`[${w[0]}]`, ...w.slice(1)].join(' ')],
  ['double-quoted first word', (w) => [`"${w[0]}"`, ...w.slice(1)].join(' ')],
  ['backquoted first word', (w) => [`\`${w[0]}\``, ...w.slice(1)].join(' ')],
  ['trailing semicolon and comment', (w) => `${w.join(' ')}; -- done`],
  ['leading semicolons', (w) => `;;${w.join(' ')}`],
];

let counter = 0;
/** The statement with each `@` replaced by a new file name in the watched directory. */
const fill = (sql: string): string => sql.replace(/@/g, () => join(out, `t${counter++}.db`));

const TOOLS = ['execute_query', 'execute_transaction', 'monitor_query_performance'] as const;
function argsFor(tool: (typeof TOOLS)[number], connection: string, sql: string): Record<string, unknown> {
  if (tool === 'execute_query') return { connection, query: sql };
  if (tool === 'execute_transaction') return { connection, queries: [{ query: 'SELECT 1' }, { query: sql }] };
  return { connection, query: sql, runs: 1 };
}

const isJournal = (f: string): boolean => /-(wal|shm|journal)$/.test(f);
const listing = (): string[] => [
  ...readdirSync(work).filter((f) => !isJournal(f)).map((f) => join(work, f)),
  ...readdirSync(out).map((f) => join(out, f)),
  ...readdirSync(process.cwd()).filter((f) => f.includes(TAG) || f.startsWith('file:')).map((f) => join(process.cwd(), f)),
];
const fileHash = (): string => createHash('sha256').update(readFileSync(dbFile)).digest('hex');

/** What a separate connection sees: rows, schema, user_version. */
function rawState(): string {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db.prepare('SELECT a, b FROM t ORDER BY a').all();
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
    return JSON.stringify({ rows, schema, version: db.pragma('user_version', { simple: true }) });
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  } finally {
    db.close();
  }
}

function seed(): void {
  rmSync(dbFile, { force: true });
  const db = new Database(dbFile);
  db.exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');");
  db.close();
}

const report = { attacks: 0, calls: 0, effects: [] as string[], accepted: [] as string[] };
let h: Harness;

beforeAll(async () => {
  seed();
  const conn = { url: `sqlite://${dbFile}`, statement_timeout_ms: 10_000 };
  h = await startInProcess({ rw: conn, ro: { ...conn, read_only: true }, mem: { url: 'sqlite::memory:', statement_timeout_ms: 10_000 } });
});

afterAll(async () => {
  await h?.close();
  for (const f of readdirSync(process.cwd())) if (f.includes(TAG)) rmSync(join(process.cwd(), f), { force: true });
  rmSync(work, { recursive: true, force: true });
  console.error(`[security] sqlite: ${report.attacks} attacks (${ESCAPES.length + WRITES.length} statements x ${ENCODINGS.length} encodings), ${report.calls} tool calls, ${report.effects.length} effects, ${report.accepted.length} accepted`);
  console.error(`[security] sqlite: ${report.attacks} attacks, ${report.effects.length} effects`);
  for (const e of [...report.effects, ...report.accepted].slice(0, 10)) console.error(`[security]   ${e}`);
});

/**
 * A read-write file connection gets a fresh host after any statement it cannot classify
 * as harmless (~1 s here), so it sees the encodings where SQLite reads the words as
 * keywords, through execute_query; an in-memory read-write connection (kept between calls)
 * sees every encoding through every tool.
 */
const FILE_RW_ENCODINGS = new Set(['plain', 'BOM first', 'BOM between tokens', 'BOM after a block comment', 'BOM after a line comment', 'comments between tokens']);

async function attempt(connection: 'ro' | 'rw' | 'mem', sql: string, tools: readonly (typeof TOOLS)[number][] = TOOLS): Promise<ToolOutcome[]> {
  const results: ToolOutcome[] = [];
  for (const tool of tools) {
    report.calls++;
    results.push(await callTool(h.client, tool, argsFor(tool, connection, fill(sql)), { timeout: 30_000 }));
  }
  return results;
}

/** Runs one attack and records what escaped; puts the database back when something did. */
async function attack(kind: 'escape' | 'write', name: string, sql: string): Promise<void> {
  report.attacks++;
  const before = { files: listing(), hash: fileHash(), state: rawState() };
  const label = `${kind} ${name} ${JSON.stringify(sql)}`;
  const ro = await attempt('ro', sql);
  if (ro.some((r) => r.ok)) report.accepted.push(`ro: ${label}`);
  if (fileHash() !== before.hash || rawState() !== before.state) report.effects.push(`ro changed the database: ${label}`);
  if (kind === 'escape') {
    const mem = await attempt('mem', sql);
    if (mem.some((r) => r.ok)) report.accepted.push(`rw (memory): ${label}`);
    const rw = FILE_RW_ENCODINGS.has(name) ? await attempt('rw', sql, TOOLS.slice(0, 1)) : [];
    if (rw.some((r) => r.ok)) report.accepted.push(`rw (file): ${label}`);
  }
  const files = listing().filter((f) => !before.files.includes(f));
  if (files.length > 0) report.effects.push(`files created: ${files.join(', ')}: ${label}`);
  for (const f of files) rmSync(f, { force: true, recursive: true });
  if (rawState() !== before.state) {
    report.effects.push(`the database changed: ${label}`);
    await callTool(h.client, 'close_connection', { connection: 'rw' });
    await callTool(h.client, 'close_connection', { connection: 'ro' });
    await callTool(h.client, 'close_connection', { connection: 'mem' });
    seed();
  }
}

describe('SQLite escapes and read-only bypasses in every encoding', () => {
  it('the plain and BOM-led forms act when SQLite runs them directly (the attacks are real)', () => {
    const scratch = tempDir('cmx-sqlite-lexer-scratch-');
    const db = new Database(join(scratch, 's.db'));
    try {
      db.exec('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)');
      for (const [i, sql] of [`ATTACH '${join(scratch, 'a.db')}' AS x`, `\uFEFFATTACH DATABASE '${join(scratch, 'b.db')}' AS y`, `\uFEFFVACUUM INTO '${join(scratch, 'c.db')}'`, `/* c */\uFEFFVACUUM INTO '${join(scratch, 'd.db')}'`].entries()) {
        db.prepare(sql).run();
        expect(existsSync(join(scratch, `${'abcd'[i]}.db`)), sql).toBe(true);
      }
      db.prepare(`\uFEFFPRAGMA temp_store_directory = '${scratch}'`).run();
      expect(db.pragma('temp_store_directory', { simple: true })).toBe(scratch);
      db.pragma("temp_store_directory = ''");
      db.prepare("WITH x AS (SELECT 1) \uFEFFINSERT INTO t SELECT 1, 'x' FROM x").run();
      expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    } finally {
      db.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('has no effect through any tool, read-only or read-write', async () => {
    for (const [name, encode] of ENCODINGS.slice(0, Number(process.env.ENCODINGS_LIMIT) || undefined)) {
      for (const sql of ESCAPES) await attack('escape', name, encode(sql.split(' ')));
      for (const sql of WRITES) await attack('write', name, encode(sql.split(' ')));
    }
    if (!process.env.ENCODINGS_LIMIT) expect(report.attacks).toBe((ESCAPES.length + WRITES.length) * ENCODINGS.length);
    expect(report.effects).toEqual([]);
    expect(report.accepted).toEqual([]);
  }, 600_000);

  it('still answers reads written with a BOM, as SQLite reads them', async () => {
    for (const sql of ['\uFEFFSELECT a FROM t ORDER BY a', 'SELECT \uFEFFa FROM t ORDER BY a', '/* c */\uFEFFSELECT a FROM t ORDER BY a']) {
      const r = await callTool(h.client, 'execute_query', { connection: 'ro', query: sql });
      expect(r.ok, `${JSON.stringify(sql)}: ${r.ok ? '' : r.error.message}`).toBe(true);
    }
  });
});
