/**
 * What no MySQL/MariaDB connection may run, read-write included (SPEC §6 "Escapes"):
 * server files and programs, other sessions, accounts and privileges, the `mysql`
 * system schema, server-wide settings and replication, outbound connections, code
 * run later or as another account, dynamic SQL the classifier cannot see, and the
 * session settings the classifier's own reading depends on. Works on the code tokens
 * of one statement (executable comments already expanded by lexer.ts lexMysql), so
 * routine, trigger and event bodies are checked like any other text.
 */
import type { Token } from '../../sql-lexer.js';

/**
 * Facts about the whole statement, computed once: rules run for every token, so
 * nothing in them may scan the statement again (1 MB of `mysql.a,` would be quadratic).
 */
interface Context {
  /** Index of the nearest SET word (not CHARACTER SET) at or before each position, -1 if none. */
  lastSet: Int32Array;
  /** The statement contains a write keyword (for the mysql schema rule). */
  writes: boolean;
  /** The statement contains CREATE or ALTER (for the engine rule). */
  definesTable: boolean;
}

type Rule = (sig: Token[], i: number, name: string, cx: Context) => string | undefined;

export const word = (t: Token | undefined): string | null => (t?.kind === 'word' ? t.text.toUpperCase() : null);
export const isPunct = (t: Token | undefined, text: string): boolean => (t?.kind === 'punct' || t?.kind === 'operator') && t.text === text;

export function unquote(text: string): string {
  const q = text[0];
  return text.slice(1, text.endsWith(q) && text.length > 1 ? -1 : undefined).replaceAll(q + q, q);
}

/** A word upper-cased, or a quoted identifier's name upper-cased (`` `mysql` ``, "mysql" under ANSI_QUOTES). */
function nameOf(t: Token | undefined): string | null {
  if (t?.kind === 'quoted_ident') return unquote(t.text).toUpperCase();
  return word(t);
}

/** Functions that reach the server's files or run programs (UDF shells). */
const ESCAPE_FUNCTIONS = new Set(['LOAD_FILE', 'SYS_EXEC', 'SYS_EVAL', 'SYS_GET', 'SYS_SET']);

/** Reserved or unambiguous words that only appear in statements that escape. */
const ESCAPE_WORDS = new Map([
  ['OUTFILE', 'INTO OUTFILE writes a file on the database server'],
  ['DUMPFILE', 'INTO DUMPFILE writes a file on the database server'],
  ['KILL', 'KILL ends another session or its statement'],
  ['SHUTDOWN', 'SHUTDOWN stops the server'],
  ['RESTART', 'RESTART restarts the server'],
  ['INSTALL', 'INSTALL loads native code into the server'],
  ['UNINSTALL', 'UNINSTALL removes server plugins'],
  ['SONAME', 'SONAME loads native code into the server'],
  ['PERSIST', 'SET PERSIST changes server-wide settings'],
  ['PERSIST_ONLY', 'SET PERSIST_ONLY changes server-wide settings'],
  ['GRANT', 'GRANT changes privileges of accounts'],
  ['REVOKE', 'REVOKE changes privileges of accounts'],
  ['IDENTIFIED', 'IDENTIFIED BY sets an account password'],
  ['FLUSH', 'FLUSH acts on the whole server (privileges, logs, global locks)'],
  ['BINLOG', 'BINLOG replays binary log events'],
  ['PREPARE', 'PREPARE runs SQL built at run time, which cannot be checked'],
  ['EXECUTE', 'EXECUTE runs SQL built at run time, which cannot be checked'],
  ['CLONE', 'CLONE copies a server from or to another host'],
]);

/** Words that escape when the next word is one of these. */
const PAIRS: Array<[string, string[], string]> = [
  ['LOAD', ['DATA', 'XML'], 'LOAD DATA / LOAD XML reads a file into a table'],
  ['CHANGE', ['MASTER', 'REPLICATION'], 'CHANGE MASTER reconfigures replication'],
  ['START', ['SLAVE', 'REPLICA', 'ALL', 'GROUP_REPLICATION'], 'START SLAVE starts replication'],
  ['STOP', ['SLAVE', 'REPLICA', 'ALL', 'GROUP_REPLICATION'], 'STOP SLAVE stops replication'],
  ['RESET', ['MASTER', 'SLAVE', 'REPLICA', 'QUERY', 'BINARY', 'PERSIST'], 'RESET acts on server-wide state (binary logs, replication, caches)'],
  ['PURGE', ['BINARY', 'MASTER'], 'PURGE deletes binary logs'],
  ['BACKUP', ['STAGE', 'LOCK'], 'BACKUP STAGE / BACKUP LOCK takes server-wide locks'],
  ['LOCK', ['INSTANCE'], 'LOCK INSTANCE takes a server-wide lock'],
  ['IMPORT', ['TABLE', 'TABLESPACE'], 'IMPORT reads table files from the server file system'],
  ['DISCARD', ['TABLESPACE'], 'DISCARD TABLESPACE acts on table files'],
  ['DATA', ['DIRECTORY'], 'DATA DIRECTORY places table files elsewhere on the server file system'],
  ['INDEX', ['DIRECTORY'], 'INDEX DIRECTORY places table files elsewhere on the server file system'],
  ['DEFAULT', ['ROLE'], 'SET DEFAULT ROLE changes an account'],
];

/** Objects whose CREATE / ALTER / DROP / RENAME acts outside the database. */
const OBJECT_ESCAPES: Record<string, string> = {
  USER: 'changes an account',
  ROLE: 'changes roles',
  SERVER: 'defines a remote server the database connects to',
  TABLESPACE: 'acts on files of the server',
  LOGFILE: 'acts on files of the server',
  INSTANCE: 'acts on the whole server',
};

/** Storage engines that dial out or read arbitrary files. */
const OUTBOUND_ENGINES = new Set(['CONNECT', 'FEDERATED', 'FEDERATEDX', 'SPIDER', 'S3', 'OQGRAPH']);

/**
 * Session settings the classifier's reading of quotes and names depends on, and
 * settings that hide writes from replication or pose as another session: a statement
 * may not change them, on any connection.
 */
const PINNED = new Set([
  'SQL_MODE', 'CHARACTER_SET_CLIENT', 'CHARACTER_SET_CONNECTION', 'CHARACTER_SET_RESULTS', 'COLLATION_CONNECTION',
  'OLD_MODE', 'SQL_LOG_BIN', 'SKIP_REPLICATION', 'PSEUDO_THREAD_ID', 'PSEUDO_SLAVE_MODE', 'GTID_DOMAIN_ID', 'GTID_SEQ_NO',
  'SERVER_ID', 'WSREP_ON', 'DEFAULT_STORAGE_ENGINE', 'STORAGE_ENGINE', 'DEFAULT_TMP_STORAGE_ENGINE', 'ENFORCE_STORAGE_ENGINE',
  'SQL_LOG_OFF', 'SLOW_QUERY_LOG', 'LOG_SLOW_QUERY', 'DEBUG', 'DEBUG_DBUG', 'DEBUG_SYNC', 'BINLOG_FORMAT',
  'BINLOG_ROW_IMAGE', 'BINLOG_ANNOTATE_ROW_EVENTS', 'GTID_SLAVE_POS', 'SQL_SLAVE_SKIP_COUNTER',
]);

const PLAIN_WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'ALTER', 'DROP', 'CREATE', 'TRUNCATE', 'RENAME', 'LOAD', 'HANDLER', 'OPTIMIZE', 'REPAIR', 'CALL']);
const STATEMENT_STARTS = new Set(['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT', 'RETURN', 'ROW']);

const RULES: Rule[] = [functionRule, wordRule, pairRule, objectRule, engineRule, globalRule, pinnedRule, systemSchemaRule, definerRule];

/** Why a statement reaches outside the database, or undefined. `code` holds no whitespace, comments or comment markers. */
export function mysqlEscape(code: Token[]): string | undefined {
  const cx = contextOf(code);
  for (let i = 0; i < code.length; i++) {
    const name = nameOf(code[i]);
    if (name === null) continue;
    for (const rule of RULES) {
      const hit = rule(code, i, name, cx);
      if (hit) return hit;
    }
  }
  return undefined;
}

function contextOf(sig: Token[]): Context {
  const lastSet = new Int32Array(sig.length);
  let last = -1;
  let writes = false;
  let definesTable = false;
  sig.forEach((t, k) => {
    const w = word(t);
    if (w === 'SET' && word(sig[k - 1]) !== 'CHARACTER') last = k;
    lastSet[k] = last;
    if (w === 'CREATE' || w === 'ALTER') definesTable = true;
    if (w !== null && PLAIN_WRITES.has(w) && !(w === 'CREATE' && word(sig[k - 1]) === 'SHOW')) {
      writes ||= !(['REPLACE', 'INSERT', 'TRUNCATE'].includes(w) && isPunct(sig[k + 1], '('));
    }
  });
  return { lastSet, writes, definesTable };
}

function functionRule(sig: Token[], i: number, name: string): string | undefined {
  if (!isPunct(sig[i + 1], '(')) return undefined;
  // `db.load_file(` and `` `load_file`( `` reach a UDF or stored function of that name, whose
  // names compare accent-insensitively (utf8 general_ci): `sys_éxec(` is refused too.
  const folded = /[^\x00-\x7f]/.test(name) ? name.normalize('NFD').replace(/\p{M}/gu, '').toUpperCase() : name;
  return ESCAPE_FUNCTIONS.has(folded) ? `function ${folded} reads server files or runs programs` : undefined;
}

function wordRule(sig: Token[], i: number, name: string): string | undefined {
  return sig[i].kind === 'word' ? ESCAPE_WORDS.get(name) : undefined;
}

function pairRule(sig: Token[], i: number, name: string): string | undefined {
  if (sig[i].kind !== 'word') return undefined;
  const next = word(sig[i + 1]);
  if (next === null) return undefined;
  for (const [first, seconds, reason] of PAIRS) if (name === first && seconds.includes(next)) return reason;
  if (name === 'PASSWORD' && next === 'FOR') return 'SET PASSWORD FOR changes an account password';
  return undefined;
}

/**
 * CREATE [OR REPLACE] USER / ROLE / SERVER …, ALTER USER, DROP USER, RENAME USER, CREATE/ALTER EVENT,
 * where the verb starts a statement (not `ALTER TABLE t DROP user`, a column named user).
 */
function objectRule(sig: Token[], i: number, name: string): string | undefined {
  if (!['CREATE', 'ALTER', 'DROP', 'RENAME'].includes(name) || sig[i].kind !== 'word' || !startsStatement(sig, i)) return undefined;
  let j = i + 1;
  while (['OR', 'REPLACE', 'IF', 'NOT', 'EXISTS', 'ONLINE', 'OFFLINE', 'UNDO'].includes(word(sig[j]) ?? '')) j++;
  const object = word(sig[j]);
  if (object === null) return undefined;
  if (OBJECT_ESCAPES[object]) return `${name} ${object} ${OBJECT_ESCAPES[object]}`;
  if (object === 'EVENT' && name !== 'DROP') return `${name} EVENT schedules statements that run later as their definer`;
  return undefined;
}

function startsStatement(sig: Token[], i: number): boolean {
  const prev = sig[i - 1];
  if (prev === undefined || isPunct(prev, ';') || isPunct(prev, ')') || isPunct(prev, ':')) return true;
  return prev.kind === 'word' && STATEMENT_STARTS.has(prev.text.toUpperCase());
}

/** ENGINE [=] CONNECT / FEDERATED … and the CONNECTION= table option in CREATE / ALTER (outbound connections, file tables). */
function engineRule(sig: Token[], i: number, name: string, cx: Context): string | undefined {
  if (sig[i].kind !== 'word' || (name !== 'ENGINE' && name !== 'CONNECTION') || !cx.definesTable) return undefined;
  const j = isPunct(sig[i + 1], '=') ? i + 2 : i + 1;
  if (name === 'CONNECTION') return j > i + 1 || sig[j]?.kind === 'string' ? 'CONNECTION= makes the server connect elsewhere' : undefined;
  const engine = sig[j]?.kind === 'string' ? unquote(sig[j].text).toUpperCase() : nameOf(sig[j]);
  return engine !== null && OUTBOUND_ENGINES.has(engine) ? `ENGINE=${engine} reaches other servers or server files` : undefined;
}

/**
 * Right after SET, or after a comma of a SET statement's list: the nearest SET before i
 * (not CHARACTER SET) starts a statement, so i is not in `UPDATE t SET …`.
 */
function setListItem(sig: Token[], i: number, cx: Context, also: string[] = []): boolean {
  const prev = word(sig[i - 1]);
  const listed = prev === 'SET' || (prev !== null && also.includes(prev)) || isPunct(sig[i - 1], ',');
  const set = i > 0 ? cx.lastSet[i - 1] : -1;
  return listed && set >= 0 && startsStatement(sig, set);
}

/** A system variable reference: `@@x`, `@@session.x`, `` @@session.`x` ``, `` @@`x` ``, `@@session . x`. */
function isSysvar(sig: Token[], i: number): boolean {
  const prev = sig[i - 1];
  if (sig[i].text.startsWith('@@') || isPunct(prev, '@')) return true;
  if (prev?.kind === 'word' && prev.text.startsWith('@@') && prev.text.endsWith('.')) return true;
  return isPunct(prev, '.') && (sig[i - 2]?.text.startsWith('@@') ?? false);
}

/** Past the name that starts at i (dotted, quoted parts included), is there an `=` or `:=`? */
function assignedAfter(sig: Token[], i: number): boolean {
  const isName = (t: Token | undefined): boolean => t?.kind === 'word' || t?.kind === 'quoted_ident';
  let k = i;
  // Names have at most three parts (@@global.keycache.key_buffer_size): a bounded walk keeps this O(1).
  for (let step = 0; step < 8; step++) {
    if (sig[k]?.text.endsWith('.') && isName(sig[k + 1])) k++;
    else if (isPunct(sig[k + 1], '.') && isName(sig[k + 2])) k += 2;
    else break;
  }
  return isPunct(sig[k + 1], '=') || isPunct(sig[k + 1], ':=');
}

/** SET GLOBAL x = …, SET @@global.x = …, SET @@global.`x` := … (a read of @@global.x stays allowed). */
function globalRule(sig: Token[], i: number, name: string, cx: Context): string | undefined {
  if (sig[i].kind !== 'word') return undefined;
  const reason = 'SET GLOBAL changes server-wide settings';
  if (name === 'GLOBAL') return setListItem(sig, i, cx) ? reason : undefined;
  return /^@@GLOBAL(\.|$)/.test(name) && assignedAfter(sig, i) ? reason : undefined;
}

/**
 * SET [SESSION|LOCAL] sql_mode = …, SET @@sql_mode, SET STATEMENT sql_mode = … FOR,
 * SET NAMES, SET CHARACTER SET / CHARSET (the classifier reads quotes with the pinned
 * values), and SET PASSWORD in any position of a SET list.
 */
function pinnedRule(sig: Token[], i: number, name: string, cx: Context): string | undefined {
  const scoped = ['SESSION', 'LOCAL', 'STATEMENT'];
  if (sig[i].kind === 'word' && setListItem(sig, i, cx, scoped)) {
    if (name === 'PASSWORD') return 'SET PASSWORD changes an account password';
    if (name === 'NAMES' || name === 'CHARSET' || (name === 'CHARACTER' && word(sig[i + 1]) === 'SET')) {
      return `SET ${name === 'CHARACTER' ? 'CHARACTER SET' : name} changes the character set the server reads statements in, which is pinned`;
    }
  }
  const variable = name.replace(/^@@/, '').replace(/^(SESSION|LOCAL)\./, '');
  if (!PINNED.has(variable)) return undefined;
  const target = isSysvar(sig, i) ? assignedAfter(sig, i) : setListItem(sig, i, cx, scoped) && assignedAfter(sig, i);
  return target ? `${variable.toLowerCase()} is pinned by the server (the read-only and escape checks depend on it): it cannot be changed` : undefined;
}

/** A write anywhere in a statement that names the `mysql` system schema (accounts, privileges, plugins, servers, events). */
function systemSchemaRule(sig: Token[], i: number, name: string, cx: Context): string | undefined {
  if (name !== 'MYSQL') return undefined;
  const qualified = isPunct(sig[i + 1], '.');
  const named = ['DATABASE', 'SCHEMA', 'USE', 'EXISTS'].includes(word(sig[i - 1]) ?? '');
  if (!qualified && !named) return undefined;
  if (word(sig[i - 1]) === 'USE') return 'USE mysql: the system schema holds accounts and privileges';
  return cx.writes ? 'writes to the mysql system schema (accounts, privileges, plugins, servers) are not allowed' : undefined;
}

/** DEFINER = account: the object would run with another account's privileges. */
function definerRule(sig: Token[], i: number, name: string): string | undefined {
  return name === 'DEFINER' && sig[i].kind === 'word' && isPunct(sig[i + 1], '=') ? 'DEFINER= makes code run as another account' : undefined;
}
