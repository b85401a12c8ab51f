/**
 * Read-only classification for MySQL and MariaDB. A READ ONLY transaction does
 * not stop INTO OUTFILE, LOAD_FILE, GET_LOCK, user variables or DDL (which
 * commits implicitly), so reads are a conservative allow-list of leading
 * keywords with a deny-list of words that must not appear anywhere outside
 * strings and quoted identifiers.
 */
import type { Token } from '../../sql-lexer.js';
import { countStatementsIn, significantTokens } from '../../sql.js';
import { isPunct, mysqlEscape, unquote, word } from './escapes.js';
import { lexMysql, type MysqlQuoting } from './lexer.js';
import type { Classification } from '../../readonly/types.js';

const READ_LEADS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'VALUES', 'TABLE', 'HELP']);

/** Functions with effects outside the statement: locks, files, sequences, replication waits, UDF shells. */
const EFFECT_FUNCTIONS = new Set([
  'LOAD_FILE', 'GET_LOCK', 'RELEASE_LOCK', 'RELEASE_ALL_LOCKS', 'IS_USED_LOCK', 'IS_FREE_LOCK',
  'NEXTVAL', 'SETVAL', 'MASTER_POS_WAIT', 'SOURCE_POS_WAIT', 'MASTER_GTID_WAIT',
  'WAIT_FOR_EXECUTED_GTID_SET', 'WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS', 'SYS_EXEC', 'SYS_EVAL',
]);

const FILE_WORDS = new Map([
  ['INTO', 'SELECT ... INTO writes to a file or to variables'],
  ['OUTFILE', 'INTO OUTFILE writes a server file'],
  ['DUMPFILE', 'INTO DUMPFILE writes a server file'],
  ['LOAD', 'LOAD reads files into tables'],
]);

/** Words of statements that change data, schema, privileges or the session. */
const WRITE_WORDS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'RENAME', 'GRANT',
  'REVOKE', 'SET', 'CALL', 'DO', 'HANDLER', 'LOCK', 'UNLOCK', 'KILL', 'FLUSH', 'RESET', 'PURGE',
  'INSTALL', 'UNINSTALL', 'SHUTDOWN', 'PREPARE', 'EXECUTE', 'DEALLOCATE', 'XA', 'PROCEDURE', 'ANALYZE',
]);

/** Also string and math functions: `INSERT('abc', 1, 1, 'x')`, `REPLACE(s, 'a', 'b')`, `TRUNCATE(1.5, 0)`. */
const ALSO_FUNCTIONS = new Set(['INSERT', 'REPLACE', 'TRUNCATE']);

const PLAIN_WRITE_LEADS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME']);
const SESSION_LOCKS = new Set(['GET_LOCK', 'RELEASE_LOCK', 'RELEASE_ALL_LOCKS', 'IS_USED_LOCK', 'IS_FREE_LOCK']);
const TX_LEADS = new Set(['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'XA']);

/** Every way a server may read quotes, depending on its sql_mode; the first is the default. */
const QUOTINGS: Array<{ mode: string; quoting: MysqlQuoting }> = [
  { mode: 'default', quoting: { backslashEscapes: true, ansiQuotes: false } },
  { mode: 'ANSI_QUOTES', quoting: { backslashEscapes: true, ansiQuotes: true } },
  { mode: 'NO_BACKSLASH_ESCAPES', quoting: { backslashEscapes: false, ansiQuotes: false } },
  { mode: 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES', quoting: { backslashEscapes: false, ansiQuotes: true } },
];

/**
 * Classifies one agent statement. The text is lexed once per sql_mode quoting
 * (when it has a `\` or `"`): `'\'` ends a string only under
 * NO_BACKSLASH_ESCAPES, so without this `SELECT '\', LOAD_FILE('/etc/passwd') -- '`
 * would hide a call inside what looks like a string. Any reading that fails
 * the allow-list fails the statement.
 */
export function classifyMysql(sql: string): Classification {
  const base = classifyReading(sql, QUOTINGS[0].quoting);
  if (!/[\\"]/.test(sql)) return base;
  for (const { mode, quoting } of QUOTINGS.slice(1)) {
    const alt = classifyReading(sql, quoting);
    base.escape ??= alt.escape;
    base.count = Math.max(base.count, alt.count);
    base.transactionControl ||= alt.transactionControl;
    base.altersSession ||= alt.altersSession;
    if (base.readOnlyViolation === null && alt.readOnlyViolation !== null) {
      const advice = `write '' for a quote inside '...', and avoid \\ escapes and "..." strings`;
      base.readOnlyViolation = `under sql_mode ${mode} the quoting reads differently: ${alt.readOnlyViolation} (${advice})`;
    }
  }
  return base;
}

/**
 * One reading of the text. The inside of executable comments is code (lexer.ts lexMysql),
 * so the escape list and transaction control see it; their markers alone are dropped
 * from `code`, and read-only mode refuses them outright. The default reading's markers
 * also answer `conditionalComment`, so the dialect need not lex the text for them again.
 */
function classifyReading(sql: string, quoting: MysqlQuoting): Classification {
  const { tokens, ambiguity } = lexMysql(sql, quoting);
  // The markers of an executable comment are not code: `SELECT 1 /*! ; */` is one statement.
  const count = countStatementsIn(tokens.filter((t) => t.kind !== 'conditional_comment'));
  const sig = significantTokens(tokens);
  const code = sig.filter((t) => t.kind !== 'conditional_comment');
  const readOnlyViolation = count > 1 ? `${count} statements: only one is allowed` : readViolation(sig);
  const escape = ambiguity ?? mysqlEscape(code);
  const wide = tooWide(code);
  return {
    count,
    readOnlyViolation,
    ...(escape ? { escape } : {}),
    ...(wide ? { unsupported: wide } : {}),
    transactionControl: isTransactionControl(code),
    altersSession: count > 1 || altersSession(sig, readOnlyViolation === null),
    // `code` is `sig` without the markers of executable comments.
    ...(code.length < sig.length ? { conditionalComment: true } : {}),
  };
}

/** MySQL's own ceiling on a table's columns; a result wider than that is no table's row. */
const MAX_SELECT_ITEMS = 4096;

/**
 * MariaDB puts no limit on a SELECT list: `SELECT 1,1,…` of 1 MB comes back as one row of
 * 500,000 columns, whose definitions the driver parses on the server's only thread for
 * seconds. A SELECT list longer than a table may be wide is refused before it runs (INSERT …
 * VALUES lists of any length stay allowed).
 */
function tooWide(code: Token[]): string | undefined {
  // Per depth of parentheses: whether a SELECT list is open there, and its items so far.
  const lists: Array<{ open: boolean; items: number }> = [{ open: false, items: 0 }];
  for (const t of code) {
    if (t.text === '(') lists.push({ open: false, items: 0 });
    else if (t.text === ')') { if (lists.length > 1) lists.pop(); }
    const here = lists[lists.length - 1];
    const word = t.kind === 'word' ? t.text.toLowerCase() : '';
    if (word === 'select') { here.open = true; here.items = 1; } else if (SELECT_LIST_END.has(word) || t.text === ';') here.open = false;
    else if (t.text === ',' && here.open && ++here.items > MAX_SELECT_ITEMS) {
      return `a SELECT list of more than ${MAX_SELECT_ITEMS} items (no table has more columns, and a result that wide stalls the driver); select fewer columns`;
    }
  }
  return undefined;
}

const SELECT_LIST_END = new Set(['from', 'where', 'group', 'having', 'order', 'limit', 'into', 'union', 'except', 'intersect', 'window', 'for']);

function readViolation(sig: Token[]): string | null {
  if (sig.length === 0) return 'empty statement';
  if (sig.some((t) => t.kind === 'conditional_comment')) {
    return 'conditional comments (/*! ... */, /*M! ... */) are executed by the server: not allowed in read-only mode';
  }
  let lead = 0;
  while (isPunct(sig[lead], '(')) lead++;
  const first = word(sig[lead]);
  if (first === null || !READ_LEADS.has(first) || (lead > 0 && first !== 'SELECT')) {
    return `${first ?? 'this'} is not a read-only statement (allowed: SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES, TABLE, HELP)`;
  }
  for (let i = lead + 1; i < sig.length; i++) {
    const reason = tokenViolation(sig, i, first === 'SHOW' ? lead : -1);
    if (reason) return reason;
  }
  return null;
}

/** `showAt` is the index of a leading SHOW, whose CREATE / PROCEDURE (`SHOW CREATE PROCEDURE p`) are reads. */
function tokenViolation(sig: Token[], i: number, showAt: number): string | null {
  const t = sig[i];
  if (t.kind === 'operator' && t.text === ':=') return 'assignment to a user variable (:=) changes the session';
  // A quoted name called like a function resolves to a stored function or UDF of that name.
  if (t.kind === 'quoted_ident' && isPunct(sig[i + 1], '(') && EFFECT_FUNCTIONS.has(unquote(t.text).toUpperCase())) {
    return `function ${unquote(t.text)} has side effects`;
  }
  const w = word(t);
  if (w === null) return null;
  const next = word(sig[i + 1]);
  if ((w === 'FOR' && (next === 'UPDATE' || next === 'SHARE')) || (w === 'LOCK' && next === 'IN')) {
    return `locking read (${w === 'FOR' ? `FOR ${next}` : 'LOCK IN SHARE MODE'}) takes row locks`;
  }
  if (w === 'NEXT' && next === 'VALUE') return 'NEXT VALUE FOR advances a sequence';
  if (EFFECT_FUNCTIONS.has(w)) return `function ${w} has side effects`;
  if (FILE_WORDS.has(w)) return FILE_WORDS.get(w)!;
  if (!WRITE_WORDS.has(w) || allowedWriteWord(sig, i, w, showAt)) return null;
  if (w === 'ANALYZE') return 'EXPLAIN ANALYZE / ANALYZE runs the statement';
  return `the keyword ${w} is not allowed in a read-only statement (quote a column named like a keyword with backticks)`;
}

function allowedWriteWord(sig: Token[], i: number, w: string, showAt: number): boolean {
  if (ALSO_FUNCTIONS.has(w) && isPunct(sig[i + 1], '(')) return true;
  if (w === 'SET' && word(sig[i - 1]) === 'CHARACTER') return true;
  if (showAt < 0 || (w !== 'CREATE' && w !== 'PROCEDURE')) return false;
  // SHOW CREATE …, SHOW PROCEDURE …, SHOW CREATE PROCEDURE … (checked in O(1): this runs for every token).
  return i === showAt + 1 || (i === showAt + 2 && word(sig[showAt + 1]) === 'CREATE');
}

function isTransactionControl(sig: Token[]): boolean {
  const [w0, w1] = [word(sig[0]), word(sig[1])];
  if (w0 === null) return false;
  if (TX_LEADS.has(w0) || (w0 === 'START' && w1 === 'TRANSACTION') || (w0 === 'RELEASE' && w1 === 'SAVEPOINT')) return true;
  if (w0 !== 'SET') return false;
  // SET [SESSION|GLOBAL] TRANSACTION ..., SET autocommit / @@session.autocommit, anywhere in the list.
  return sig.some((t) => {
    const name = word(t)?.replace(/^@@/, '').replace(/^(GLOBAL|SESSION|LOCAL|PERSIST|PERSIST_ONLY)\./, '');
    return name === 'TRANSACTION' || name === 'AUTOCOMMIT';
  });
}

/** Plain reads and plain DML/DDL leave nothing behind on the connection; everything else may. */
function altersSession(sig: Token[], plainRead: boolean): boolean {
  if (sig.length === 0) return false;
  if (plainRead) return setsLastInsertId(sig);
  const lead = word(sig[0]);
  if (lead === null || !PLAIN_WRITE_LEADS.has(lead)) return true;
  // DROP DATABASE of the current database leaves the session without one.
  if (lead === 'DROP' && ['DATABASE', 'SCHEMA'].includes(word(sig[1]) ?? '')) return true;
  return sig.some((t, i) => {
    const w = word(t);
    if (t.kind === 'conditional_comment' || (t.kind === 'operator' && t.text === ':=')) return true;
    if (w === 'TEMPORARY' || (w !== null && SESSION_LOCKS.has(w))) return true;
    return isVariable(sig, i);
  }) || setsLastInsertId(sig);
}

/** `@x`, `@@x`, `@'x'`, but not the host of `'user'@'host'` or `user@host`. */
function isVariable(sig: Token[], i: number): boolean {
  const t = sig[i];
  if (!t.text.startsWith('@') || (t.kind !== 'word' && t.kind !== 'punct')) return false;
  const prev = sig[i - 1];
  const hostPart = prev !== undefined && prev.end === t.start && ['string', 'quoted_ident', 'word'].includes(prev.kind);
  return !hostPart;
}

/** `LAST_INSERT_ID(expr)` sets the value the next caller on this connection would read. */
function setsLastInsertId(sig: Token[]): boolean {
  return sig.some((t, i) => word(t) === 'LAST_INSERT_ID' && isPunct(sig[i + 1], '(') && !isPunct(sig[i + 2], ')'));
}
