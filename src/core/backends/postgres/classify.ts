/**
 * PostgreSQL statement classifier, built on libpg-query (the server's own grammar
 * compiled to WASM), so what we judge is exactly what the server will parse.
 *
 * Read-only is an allow-list: SELECT (set operations, VALUES, TABLE t), SHOW, and
 * EXPLAIN without ANALYZE of such a SELECT. A READ ONLY transaction still lets
 * through side effects that escape or outlive it (COPY TO PROGRAM, lo_export,
 * pg_terminate_backend, dblink, advisory locks, sequences...), so the whole tree is
 * searched for those too (see PITFALLS.md, PostgreSQL): function calls, and every
 * identifier naming a denied function (attribute notation `(arg).fn` has no call node).
 * What no connection may run is decided in escapes.ts; on read-only
 * connections the engine is a second wall (guard.ts).
 */
import { DbError } from '../../../errors.js';
import type { Classification } from '../../readonly/types.js';
import { denyGroupOf } from './deny.js';
import { isBookkeeping } from '../../bookkeeping.js';
import { escapeOf } from './escapes.js';
import { isRecord } from '../../sql.js';
import { bodyOf, firstName, lastName, nodeType, stringNode, walk, type PgNode } from './tree.js';

interface ParseResult {
  stmts: Array<{ stmt: PgNode }>;
}
type ParseSync = (sql: string) => ParseResult;

// libpg-query keeps one WASM instance per process and starts compiling it the moment
// the package is imported (~25 ms), so it is imported lazily and only once.
let parseSync: ParseSync | undefined;
let loading: Promise<void> | undefined;

/** Load the WASM parser. Idempotent; a failed load may be retried. */
export async function loadPostgresParser(): Promise<void> {
  loading ??= (async () => {
    const mod = await import('libpg-query');
    await mod.loadModule();
    parseSync = mod.parseSync as ParseSync;
  })().catch((err: unknown) => {
    loading = undefined;
    const message = err instanceof Error ? err.message : String(err);
    throw new DbError('INTERNAL', `cannot load the PostgreSQL parser: ${message}`, {}, { cause: err });
  });
  return loading;
}

/** Classify one agent SQL string. Throws SYNTAX_ERROR when PostgreSQL would not parse it. */
export function classifyPostgres(sql: string): Classification {
  const stmts = parse(sql).stmts.map((s) => s.stmt);
  return {
    count: stmts.length,
    readOnlyViolation: violationOfScript(stmts),
    transactionControl: stmts.some((s) => nodeType(s) === 'TransactionStmt'),
    altersSession: stmts.some(altersSession),
    escape: escapeOf(stmts, innerEscape),
    namesBookkeeping: stmts.some(namesBookkeeping) || undefined,
    unsupported: stmts.some(isClientCopy)
      ? 'COPY FROM STDIN / TO STDOUT needs a client data stream that MCP tools do not carry; use INSERT ... VALUES (or execute_transaction) to load rows and SELECT to read them'
      : undefined,
  };
}

/** A name (not a string constant) in the tree that is our schema or one of our tables, as the server resolves it. */
function namesBookkeeping(stmt: PgNode): boolean {
  return walk(stmt, (key, value) => {
    // Relations (relname, schemaname: a RangeVar, bare where a statement's own target) and name lists (String).
    const name = key === 'String' ? stringNode(value) : key === 'relname' || key === 'schemaname' ? value : undefined;
    return typeof name === 'string' && isBookkeeping({ schema: name, table: name }) ? true : undefined;
  }) === true;
}

/** COPY with no file name streams through the client connection (and would hold it in copy mode). */
function isClientCopy(stmt: PgNode): boolean {
  if (nodeType(stmt) !== 'CopyStmt') return false;
  const copy = (stmt as Record<string, Record<string, unknown>>).CopyStmt;
  return !copy.filename && !copy.is_program;
}

// ---------------------------------------------------------------- parsing

/** The statements of a trusted script (a backup's native DDL), parsed; loadPostgresParser() first. */
export function parseStatements(sql: string): PgNode[] {
  return parse(sql).stmts.map((s) => s.stmt);
}

function parse(sql: string): ParseResult {
  if (!parseSync) throw new DbError('INTERNAL', 'PostgreSQL parser not loaded: await loadPostgresParser() first');
  // The parser reads a C string: everything after a NUL would go unseen by us.
  const nul = sql.indexOf('\0');
  if (nul >= 0) throw new DbError('SYNTAX_ERROR', 'SQL contains a NUL character', { position: nul + 1 });
  // libpg-query throws a plain Error on blank input; blank is just "no statement".
  if (sql.trim() === '') return { stmts: [] };
  try {
    return parseSync(sql);
  } catch (err) {
    throw toSyntaxError(err);
  }
}

/** Parser errors carry sqlDetails.cursorPosition, a 0-based character offset. */
function toSyntaxError(err: unknown): DbError {
  const message = err instanceof Error ? err.message : String(err);
  const details = isRecord(err) && isRecord(err.sqlDetails) ? err.sqlDetails : undefined;
  if (!details) return new DbError('INTERNAL', `PostgreSQL parser failed: ${message}`, {}, { cause: err });
  const position = typeof details.cursorPosition === 'number' ? details.cursorPosition : undefined;
  // 1-based, as the server itself reports positions.
  return new DbError('SYNTAX_ERROR', message, position === undefined ? {} : { position: position + 1 }, { cause: err });
}

// ---------------------------------------------------------------- read-only allow-list

const EXPLAIN_RUNS_QUERY = new Set(['analyze', 'analyse']);

function violationOfScript(stmts: PgNode[]): string | null {
  if (stmts.length === 0) return 'no statement found (empty or only comments)';
  if (stmts.length > 1) return `multiple statements (${stmts.length}); send one statement per call`;
  return violationOf(stmts[0]!);
}

function violationOf(stmt: PgNode): string | null {
  const type = nodeType(stmt);
  const body = stmt[type];
  switch (type) {
    case 'SelectStmt':
      return walk(body, readViolationAt) ?? null;
    case 'VariableShowStmt':
      return null;
    case 'ExplainStmt':
      return explainViolation(isRecord(body) ? body : {});
    default:
      return `${verbOf(type, body)} is not allowed in read-only mode (allowed: SELECT, VALUES, TABLE, SHOW, EXPLAIN)`;
  }
}

function explainViolation(body: PgNode): string | null {
  // EXPLAIN ANALYZE executes its statement. Refused even with ANALYZE false: rare, and
  // reading the option's value would be one more thing to get wrong.
  const options = Array.isArray(body.options) ? body.options : [];
  const analyze = options.some((opt) => {
    const defname = isRecord(opt) && isRecord(opt.DefElem) ? opt.DefElem.defname : undefined;
    return typeof defname === 'string' && EXPLAIN_RUNS_QUERY.has(defname.toLowerCase());
  });
  if (analyze) return 'EXPLAIN ANALYZE runs the statement; use EXPLAIN without ANALYZE';
  const inner = isRecord(body.query) ? body.query : {};
  const violation = violationOf(inner);
  return violation === null ? null : `EXPLAIN of a statement that is not a read: ${violation}`;
}

/** Any parse-node key naming a statement (SelectStmt, CopyStmt, ...). */
const STATEMENT_KEY = /^[A-Z][A-Za-z]*Stmt$/;

/**
 * One step of the generic search inside an allowed SELECT. Looks at keys rather than
 * typed nodes because libpg-query leaves struct-typed fields unwrapped (a set
 * operation's larg/rarg are bare SelectStmt bodies), so only keys are reliable.
 */
function readViolationAt(key: string, value: unknown): string | undefined {
  if (key === 'CommonTableExpr') return cteViolation(value);
  if (key === 'intoClause' && value) return 'SELECT INTO creates a table; use a plain SELECT';
  if (key === 'lockingClause' && Array.isArray(value) && value.length > 0) {
    return 'FOR UPDATE/SHARE locks rows; remove the locking clause';
  }
  if (key === 'funcname') return functionViolation(value);
  // Attribute notation ((arg).fn, tbl.fn) and every other place a function is named: see deny.ts.
  if (key === 'String') return identifierViolation(stringNode(value));
  // The grammar nests statements only in WITH, but an allow-list does not assume that.
  if (STATEMENT_KEY.test(key) && key !== 'SelectStmt') return `${verbOf(key, value)} inside a query`;
  return undefined;
}

function cteViolation(cte: unknown): string | undefined {
  const query = isRecord(cte) && isRecord(cte.ctequery) ? cte.ctequery : {};
  const type = nodeType(query);
  if (type === 'SelectStmt') return undefined;
  return `data-modifying CTE (${verbOf(type, query[type])}); only SELECT may appear in WITH`;
}

function functionViolation(funcname: unknown): string | undefined {
  const name = lastName(funcname);
  if (name === undefined) return 'function call with an unrecognised name';
  const reason = deniedFunctionReason(name, true);
  return reason === undefined ? undefined : `function ${name} ${reason}`;
}

function identifierViolation(name: string | undefined): string | undefined {
  const lower = name?.toLowerCase();
  const reason = lower === undefined ? undefined : deniedFunctionReason(lower, false);
  return reason === undefined ? undefined : `function ${lower} ${reason} (named in attribute notation, (arg).${lower} calls ${lower}(arg))`;
}

/** The escape of SQL found in a string constant; text our parser cannot read cannot be checked, so it counts as one. */
function innerEscape(sql: string): string | undefined {
  let stmts: PgNode[];
  try {
    stmts = parse(sql).stmts.map((s) => s.stmt);
  } catch {
    return 'SQL in a string that does not parse, so it cannot be checked';
  }
  return escapeOf(stmts, innerEscape);
}

function deniedFunctionReason(name: string, call: boolean): string | undefined {
  return denyGroupOf(name, call)?.reason;
}

// ---------------------------------------------------------------- session state

/** Statements whose effect lives on the connection after the call (or may: DO, CALL). */
const SESSION_STATEMENTS = new Set([
  'VariableSetStmt', 'PrepareStmt', 'DeallocateStmt', 'ListenStmt', 'UnlistenStmt',
  'DeclareCursorStmt', 'ClosePortalStmt', 'DiscardStmt', 'LoadStmt',
  // Procedural code can SET, LISTEN or lock anything: when unsure, true.
  'DoStmt', 'CallStmt',
]);

const SESSION_FUNCTIONS = new Set(['set_config', 'dblink_connect', 'dblink_connect_u']);
const SESSION_FUNCTION_PATTERNS = [/^pg_advisory_/, /^pg_try_advisory_/];
/** pg_temp, or a backend's own pg_temp_N: objects there live as long as the session. */
const TEMP_SCHEMA = /^pg_temp(_\d+)?$/i;

function altersSession(stmt: PgNode): boolean {
  return SESSION_STATEMENTS.has(nodeType(stmt)) || walk(stmt, sessionStateAt) === true;
}

function sessionStateAt(key: string, value: unknown): true | undefined {
  // CREATE TEMP TABLE/VIEW/SEQUENCE, CREATE TEMP TABLE AS, SELECT INTO TEMP.
  if (key === 'relpersistence' && value === 't') return true;
  // CREATE TABLE pg_temp.x is temporary without the TEMP keyword.
  if (key === 'schemaname' && typeof value === 'string' && TEMP_SCHEMA.test(value)) return true;
  if (key !== 'funcname') return undefined;
  if (TEMP_SCHEMA.test(firstName(value) ?? '')) return true; // CREATE FUNCTION pg_temp.f
  const name = lastName(value) ?? '';
  return SESSION_FUNCTIONS.has(name) || SESSION_FUNCTION_PATTERNS.some((p) => p.test(name)) ? true : undefined;
}

/**
 * Transaction poolers: what in this text would outlive its transaction on a server
 * connection the pooler then hands to someone else (null: nothing we can see). Finer
 * than `altersSession`: SET LOCAL, set_config(…, true), transaction-level advisory locks
 * and ON COMMIT DROP temporary tables end with the transaction. DO and CALL pass (what
 * procedural code sets cannot be seen): what they leave is undone by the reset that runs
 * inside every call's transaction before it ends (settings.ts SESSION_RESET), as is
 * anything a function leaves. This refusal tells the agent that such state would not last.
 */
export function sessionStateLeft(sql: string): string | null {
  for (const { stmt } of parse(sql).stmts) {
    const type = nodeType(stmt);
    const body = bodyOf(stmt);
    if (type === 'VariableSetStmt') {
      if (body.is_local !== true) return 'SET without LOCAL';
      continue;
    }
    if (type === 'DeclareCursorStmt') {
      // CURSOR_OPT_HOLD (0x0020): WITH HOLD outlives the transaction.
      if ((Number(body.options) & 0x20) !== 0) return 'DECLARE … WITH HOLD';
      continue;
    }
    if (LEFT_STATEMENTS.has(type)) return verbOf(type, body);
    if (createsInTempSchema(type, body)) return `${verbOf(type, body)} of an object in pg_temp (it lives as long as the server connection)`;
    const found = walk(stmt, stateLeftAt);
    if (found !== undefined) return found;
  }
  return null;
}

/** CREATE … (and DefineStmt: CREATE AGGREGATE, COLLATION, TYPE …; CompositeTypeStmt) of any kind of object. */
const CREATE_STATEMENT = /^(Create|Define|CompositeType)/;

/**
 * A CREATE whose object's own name (a top-level field: a qualified name list such as
 * funcname, typeName, domainname, defnames, or a RangeVar) is in pg_temp / pg_temp_N.
 * Tables, views and sequences are judged with their ON COMMIT (stateLeftAt).
 */
function createsInTempSchema(type: string, body: Record<string, unknown>): boolean {
  if (!CREATE_STATEMENT.test(type) || RELATION_CREATES.has(type)) return false;
  return Object.values(body).some((field) => {
    if (Array.isArray(field)) return TEMP_SCHEMA.test(firstName(field) ?? '');
    return isRecord(field) && typeof field.schemaname === 'string' && TEMP_SCHEMA.test(field.schemaname);
  });
}

/** Statements createdRelation judges (a temporary table may end with its transaction: ON COMMIT DROP). */
const RELATION_CREATES = new Set(['CreateStmt', 'CreateTableAsStmt', 'ViewStmt', 'CreateSeqStmt']);

const LEFT_STATEMENTS = new Set(['PrepareStmt', 'DeallocateStmt', 'ListenStmt', 'UnlistenStmt', 'DiscardStmt', 'LoadStmt']);

/** Where a statement names the relation it creates, and its ON COMMIT (CREATE TABLE, CREATE TABLE AS, SELECT INTO, views, sequences). */
function createdRelation(key: string, value: Record<string, unknown>): { rel: unknown; onCommit: unknown } | undefined {
  if (key === 'CreateStmt') return { rel: value.relation, onCommit: value.oncommit };
  const into = key === 'CreateTableAsStmt' ? value.into : key === 'intoClause' ? value : undefined;
  if (isRecord(into)) return { rel: into.rel, onCommit: into.onCommit };
  if (key === 'ViewStmt') return { rel: value.view, onCommit: undefined };
  if (key === 'CreateSeqStmt') return { rel: value.sequence, onCommit: undefined };
  return undefined;
}

function stateLeftAt(key: string, value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const created = createdRelation(key, value);
  if (created) {
    const rel = created.rel;
    const temp = isRecord(rel) && (rel.relpersistence === 't' || TEMP_SCHEMA.test(String(rel.schemaname ?? '')));
    return temp && created.onCommit !== 'ONCOMMIT_DROP' ? 'a temporary table, view or sequence (only ON COMMIT DROP tables end with the transaction)' : undefined;
  }
  if (key !== 'FuncCall') return undefined;
  const name = lastName(value.funcname) ?? '';
  if (TEMP_SCHEMA.test(firstName(value.funcname) ?? '')) return 'a function in pg_temp';
  if (/^pg_(try_)?advisory_(lock|unlock)/.test(name)) return `${name} (a session-level lock: use pg_advisory_xact_lock)`;
  if (name === 'dblink_connect' || name === 'dblink_connect_u') return name;
  if (name === 'set_config') {
    const args = Array.isArray(value.args) ? value.args : [];
    const local = args[2];
    const isTrue = isRecord(local) && isRecord(local.A_Const) && isRecord(local.A_Const.boolval) && local.A_Const.boolval.boolval === true;
    return isTrue ? undefined : 'set_config(…, false)';
  }
  return undefined;
}

const VERB_OVERRIDES: ReadonlyMap<string, string> = new Map([
  ['VariableSetStmt', 'SET'],
  ['TransactionStmt', 'transaction control'],
  ['CheckPointStmt', 'CHECKPOINT'],
  ['IndexStmt', 'CREATE INDEX'],
  ['ViewStmt', 'CREATE VIEW'],
  ['RuleStmt', 'CREATE RULE'],
  ['', 'an unrecognised statement'],
]);

/** 'CreateTableAsStmt' -> 'CREATE TABLE AS', for messages. */
function verbOf(type: string, body: unknown): string {
  if (type === 'VacuumStmt') return isRecord(body) && body.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE';
  const override = VERB_OVERRIDES.get(type);
  if (override !== undefined) return override;
  return type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}
