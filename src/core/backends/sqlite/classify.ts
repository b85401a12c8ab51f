/**
 * Read-only classification for SQLite. The connection is opened read-only with
 * query_only on, but that does not stop everything: `VACUUM INTO` writes a copy,
 * `ATTACH` creates files, and a PRAGMA that sets a flag (query_only itself) takes
 * effect when it is merely prepared, before any check on the prepared statement
 * could refuse it (PITFALLS.md, SQLite). So reads are an allow-list of leading
 * keywords and reading pragmas, judged on tokens before SQLite ever sees the text.
 * The tokens come from a transcription of SQLite's own tokenizer (backends/sqlite/lexer.ts),
 * and names are compared with ASCII-only case folding, as SQLite compares keywords,
 * function and pragma names (JS toUpperCase would turn `ſ` into `S`).
 */
import { DbError } from '../../../errors.js';
import { countStatementsIn, significantTokens } from '../../sql.js';
import { tokensFor, type Lexed, type Token } from '../../sql-lexer.js';
import { sqliteLexer } from './lexer.js';
import type { Classification } from '../../readonly/types.js';

const TX_LEADS = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

/**
 * Functions that reach outside the database: native code, tokenizer pointers, and the
 * functions ATTACH and DETACH compile to (internal in this build; denied should a
 * build ever expose them). Denied anywhere.
 */
const DENIED_FUNCTIONS = new Set(['load_extension', 'fts3_tokenizer', 'sqlite_attach', 'sqlite_detach']);

/**
 * File functions and table-valued functions of the SQLite shell's extensions (fileio,
 * zipfile). better-sqlite3 does not include them; a build or a loaded extension might.
 * Their names are ordinary words (a column may be called `edit`), so only a call is denied.
 */
const DENIED_CALLS = new Set(['readfile', 'writefile', 'edit', 'fsdir', 'zipfile', 'lsmode']);

/**
 * Words that can only mean a write inside a read (a data-modifying CTE body, a
 * trailing statement). REPLACE is also a string function: only `replace(` is allowed.
 */
const WRITE_WORDS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER',
  'ATTACH', 'DETACH', 'VACUUM', 'REINDEX', 'ANALYZE', 'PRAGMA',
]);

/** Why a leading keyword is refused, where a generic reason would not help the agent. */
const LEAD_REASONS: Record<string, string> = {
  ATTACH: 'ATTACH opens (and can create) another database file',
  DETACH: 'DETACH changes the databases of the session',
  VACUUM: 'VACUUM rewrites the database (VACUUM INTO writes a full copy to a file)',
  REINDEX: 'REINDEX rebuilds indexes',
  ANALYZE: 'ANALYZE writes statistics tables',
};

/** Pragmas that only report a value when given no argument. */
const READ_PRAGMAS = new Set([
  'analysis_limit', 'application_id', 'auto_vacuum', 'automatic_index', 'busy_timeout', 'cache_size',
  'cache_spill', 'cell_size_check', 'collation_list', 'compile_options', 'data_version', 'database_list',
  'defer_foreign_keys', 'encoding', 'foreign_keys', 'freelist_count', 'function_list', 'hard_heap_limit',
  'ignore_check_constraints', 'journal_mode', 'journal_size_limit', 'legacy_alter_table', 'locking_mode',
  'max_page_count', 'mmap_size', 'module_list', 'page_count', 'page_size', 'pragma_list', 'query_only',
  'read_uncommitted', 'recursive_triggers', 'reverse_unordered_selects', 'schema_version', 'secure_delete',
  'soft_heap_limit', 'synchronous', 'table_list', 'temp_store', 'threads', 'trusted_schema', 'user_version',
  'wal_autocheckpoint',
]);

/** Introspection pragmas whose argument names a table or index (or caps reported errors): `name(arg)` reads. */
const ARG_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo',
  'foreign_key_list', 'foreign_key_check', 'integrity_check', 'quick_check',
]);

const ARG_KINDS = new Set<Token['kind']>(['word', 'quoted_ident', 'string', 'number']);

const isPunct = (t: Token | undefined, ch: string): boolean => t?.kind === 'punct' && t.text === ch;
/** SQLite folds only ASCII letters (sqlite3UpperToLower). */
const asciiUpper = (s: string): string => s.replace(/[a-z]+/g, (m) => m.toUpperCase());
const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const upperWord = (t: Token | undefined): string | null => (t?.kind === 'word' ? asciiUpper(t.text) : null);

/** Name text without its quotes ("x", `x`, [x], and 'x' where SQLite takes a string as a name), lower-cased. */
function identName(t: Token): string {
  if (t.kind !== 'quoted_ident' && t.kind !== 'string') return asciiLower(t.text);
  const inner = t.text.slice(1, t.text.length - 1);
  const q = t.text[0];
  return asciiLower(q === '[' ? inner : inner.split(q + q).join(q));
}

/**
 * Classifies one agent statement; never touches a database. Throws SYNTAX_ERROR on a NUL
 * character. `lexed`: the tokens of `sql` by sqliteLexer when the caller has them (tokensFor).
 */
export function classifySqlite(sql: string, lexed?: Lexed): Classification {
  // SQLite stops reading at a NUL: we would judge text it never sees, or the reverse.
  const nul = sql.indexOf('\0');
  if (nul >= 0) throw new DbError('SYNTAX_ERROR', 'SQL contains a NUL character', { position: nul });
  const tokens = tokensFor(sql, sqliteLexer, lexed);
  const count = countStatementsIn(tokens);
  const sig = trimSemicolons(significantTokens(tokens));
  const lead = upperWord(sig[0]);
  const transactionControl = lead !== null && TX_LEADS.has(lead);
  const escape = escapeIn(sig);
  const escaped = escape ? { escape } : {};
  if (count === 0) return { count, readOnlyViolation: null, transactionControl: false, altersSession: false };
  if (count > 1) {
    return { count, readOnlyViolation: `${count} statements: only one is allowed`, transactionControl, altersSession: true, ...escaped };
  }
  const verdict = judge(sig);
  return { count, readOnlyViolation: verdict.violation, transactionControl, altersSession: transactionControl || verdict.altersSession, ...escaped };
}

/**
 * Pragmas refused on every connection, in any form (reading, `=`, `(…)`): two point
 * SQLite at another directory (temp_store_directory is compiled in, data_store_directory
 * exists on Windows builds); writable_schema lets a statement write schema text (views,
 * triggers) that no check ever reads. SQLite's defensive mode, which better-sqlite3
 * turns on, already ignores writable_schema: this is the second wall.
 */
const ESCAPE_PRAGMAS: Record<string, string> = {
  temp_store_directory: 'points SQLite at another directory',
  data_store_directory: 'points SQLite at another directory',
  writable_schema: 'lets statements rewrite the schema text unchecked',
};

/**
 * Why a statement reaches outside the database file (other files, native code), or
 * undefined. Checked on every connection, over every statement of the text: ATTACH
 * creates a missing file, VACUUM INTO writes a full copy anywhere the process may write.
 */
function escapeIn(sig: Token[]): string | undefined {
  const words = sig.map(upperWord);
  if (words.includes('ATTACH')) return 'ATTACH opens (and can create) another database file';
  if (words.includes('VACUUM') && words.includes('INTO')) return 'VACUUM INTO writes a copy of the database to a file';
  const denied = deniedFunction(sig);
  if (denied) return denied;
  for (let p = words.indexOf('PRAGMA'); p >= 0; p = words.indexOf('PRAGMA', p + 1)) {
    const nameTok = isPunct(sig[p + 2], '.') ? sig[p + 3] : sig[p + 1];
    const name = nameTok ? identName(nameTok) : '';
    if (Object.hasOwn(ESCAPE_PRAGMAS, name)) return `PRAGMA ${name} ${ESCAPE_PRAGMAS[name]}`;
  }
  return undefined;
}

function trimSemicolons(sig: Token[]): Token[] {
  let a = 0;
  let b = sig.length;
  while (a < b && isPunct(sig[a], ';')) a++;
  while (b > a && isPunct(sig[b - 1], ';')) b--;
  return sig.slice(a, b);
}

interface Verdict {
  violation: string | null;
  altersSession: boolean;
}

function judge(sig: Token[]): Verdict {
  const denied = deniedFunction(sig);
  if (denied) return { violation: denied, altersSession: true };
  const lead = upperWord(sig[0]);
  switch (lead) {
    case 'SELECT':
    case 'WITH':
    case 'VALUES':
      return { violation: writeWordIn(sig), altersSession: false };
    case 'EXPLAIN':
      return judgeExplain(sig);
    case 'PRAGMA':
      return judgePragma(sig.slice(1));
    default:
      return { violation: leadReason(lead, sig), altersSession: altersByLead(lead, sig) };
  }
}

function deniedFunction(sig: Token[]): string | null {
  for (let i = 0; i < sig.length; i++) {
    const t = sig[i];
    const named = t.kind === 'word' || t.kind === 'quoted_ident' || (t.kind === 'string' && isPunct(sig[i + 1], '('));
    if (!named) continue;
    const name = identName(t);
    if (DENIED_FUNCTIONS.has(name) || (DENIED_CALLS.has(name) && isPunct(sig[i + 1], '('))) {
      return `function ${name} is not allowed (it reaches outside the database)`;
    }
  }
  return null;
}

function writeWordIn(sig: Token[]): string | null {
  for (let i = 1; i < sig.length; i++) {
    const w = upperWord(sig[i]);
    if (w === null || !WRITE_WORDS.has(w)) continue;
    if (w === 'REPLACE' && isPunct(sig[i + 1], '(')) continue;
    return `${w} inside a read (a data-modifying CTE or a second statement) is not allowed`;
  }
  return null;
}

/** EXPLAIN does not run its statement, but SQLite applies some PRAGMAs while preparing: the inner statement must be a read too. */
function judgeExplain(sig: Token[]): Verdict {
  const plan = upperWord(sig[1]) === 'QUERY' && upperWord(sig[2]) === 'PLAN';
  const inner = judge(sig.slice(plan ? 3 : 1));
  if (inner.violation === null) return inner;
  return { violation: `EXPLAIN of a statement that is not read-only: ${inner.violation}`, altersSession: inner.altersSession };
}

/** `PRAGMA [schema.]name` or `PRAGMA [schema.]name(arg)` for introspection; anything else may set a value. */
function judgePragma(rest: Token[]): Verdict {
  let i = isPunct(rest[1], '.') ? 2 : 0;
  const nameTok = rest[i];
  if (!nameTok || (nameTok.kind !== 'word' && nameTok.kind !== 'quoted_ident')) {
    return { violation: 'PRAGMA without a name', altersSession: true };
  }
  const name = identName(nameTok);
  i++;
  const setting = { violation: `PRAGMA ${name} with a value sets it`, altersSession: true };
  if (rest.slice(i).some((t) => t.kind === 'operator' && t.text.includes('='))) return setting;
  if (i === rest.length) {
    if (READ_PRAGMAS.has(name) || ARG_PRAGMAS.has(name)) return { violation: null, altersSession: false };
    return { violation: `PRAGMA ${name} is not on the list of reading pragmas`, altersSession: true };
  }
  const oneArg = rest.length === i + 3 && isPunct(rest[i], '(') && ARG_KINDS.has(rest[i + 1].kind) && isPunct(rest[i + 2], ')');
  if (oneArg && ARG_PRAGMAS.has(name)) return { violation: null, altersSession: false };
  return oneArg ? setting : { violation: `PRAGMA ${name}: unexpected form`, altersSession: true };
}

function leadReason(lead: string | null, sig: Token[]): string {
  if (lead === null) return 'the statement does not start with a keyword';
  if (TX_LEADS.has(lead)) return `${lead} is transaction control`;
  if (LEAD_REASONS[lead]) return LEAD_REASONS[lead];
  if (lead === 'CREATE' || lead === 'DROP' || lead === 'ALTER') {
    const temp = ['TEMP', 'TEMPORARY'].includes(upperWord(sig[1]) ?? '');
    return `${sig.slice(0, temp ? 3 : 2).map((t) => asciiUpper(t.text)).join(' ')} changes the schema`;
  }
  return `${lead} is not a read-only statement`;
}

/** Session state that outlives the statement: attached databases, temporary objects, open transactions. */
function altersByLead(lead: string | null, sig: Token[]): boolean {
  if (lead === 'ATTACH' || lead === 'DETACH') return true;
  if (lead === 'CREATE') {
    const second = upperWord(sig[1]);
    return second === 'TEMP' || second === 'TEMPORARY';
  }
  const known = ['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'DROP', 'ALTER', 'VACUUM', 'REINDEX', 'ANALYZE'];
  return lead === null || !known.includes(lead); // unknown statement: assume it does
}
