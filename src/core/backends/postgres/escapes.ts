/**
 * What no connection may run, read-write ones included: statements that reach outside
 * the database (server files and programs, other sessions, other databases, accounts
 * and role memberships, server configuration, native code, outbound connections) or
 * that change what the classifier and the read-only guard rely on (the system
 * catalogs, the string settings, the role). SPEC §6 lists the families.
 */
import { denyGroupOf, PROTECTED_SETTINGS, RUNS_SQL_TEXT, sqlArguments } from './deny.js';
import { isRecord } from '../../sql.js';
import { bodyOf, constantText, lastName, nodeType, qualifiedName, stringNode, walk, type PgNode } from './tree.js';

/** Classifies SQL found inside a string constant (query_to_xml's query, an SQL function's body): its escape, if any. */
export type InnerEscape = (sql: string) => string | undefined;

const ACCOUNTS = 'changes an account or a role membership';
const DATABASES = 'changes a whole database or other databases';
const DIALS_OUT = 'makes the server connect to other servers';

/** Statements refused whatever they say. */
const ESCAPE_STATEMENTS: ReadonlyMap<string, string> = new Map([
  ['CreateRoleStmt', `CREATE ROLE/USER ${ACCOUNTS}`],
  ['AlterRoleStmt', `ALTER ROLE/USER ${ACCOUNTS} (password, login, attributes)`],
  ['AlterRoleSetStmt', 'ALTER ROLE/USER ... SET changes the settings of future sessions of an account'],
  ['DropRoleStmt', `DROP ROLE/USER ${ACCOUNTS}`],
  ['GrantRoleStmt', `GRANT/REVOKE of a role ${ACCOUNTS} (predefined roles such as pg_execute_server_program included)`],
  ['ReassignOwnedStmt', 'REASSIGN OWNED hands every object of an account to another account'],
  ['AlterSystemStmt', 'ALTER SYSTEM writes the server configuration file'],
  ['LoadStmt', 'LOAD loads a shared library into the server process'],
  ['CheckPointStmt', 'CHECKPOINT acts on the whole server'],
  ['CreatedbStmt', `CREATE DATABASE ${DATABASES}`],
  ['DropdbStmt', `DROP DATABASE ${DATABASES}`],
  ['AlterDatabaseStmt', `ALTER DATABASE ${DATABASES} (connections, connection limit, tablespace)`],
  ['AlterDatabaseSetStmt', 'ALTER DATABASE ... SET changes the settings of every future session'],
  ['AlterDatabaseRefreshCollStmt', `ALTER DATABASE ${DATABASES}`],
  ['CreateTableSpaceStmt', 'CREATE TABLESPACE writes into a directory of the server'],
  ['DropTableSpaceStmt', 'DROP TABLESPACE acts on a directory of the server'],
  ['AlterTableSpaceOptionsStmt', 'ALTER TABLESPACE changes a server-wide storage location'],
  ['CreateSubscriptionStmt', `CREATE SUBSCRIPTION ${DIALS_OUT}`],
  ['AlterSubscriptionStmt', `ALTER SUBSCRIPTION ${DIALS_OUT}`],
  ['DropSubscriptionStmt', `DROP SUBSCRIPTION ${DIALS_OUT}`],
  ['CreateFdwStmt', 'CREATE FOREIGN DATA WRAPPER installs native handler code'],
  ['AlterFdwStmt', 'ALTER FOREIGN DATA WRAPPER changes native handler code'],
  ['CreateForeignServerStmt', `CREATE SERVER ${DIALS_OUT} (dblink, postgres_fdw) or reads server files (file_fdw)`],
  ['AlterForeignServerStmt', `ALTER SERVER ${DIALS_OUT}`],
  ['CreateUserMappingStmt', `CREATE USER MAPPING gives credentials to a server that ${DIALS_OUT.replace('makes the server ', '')}`],
  ['AlterUserMappingStmt', 'ALTER USER MAPPING changes credentials used to connect to other servers'],
  ['ImportForeignSchemaStmt', `IMPORT FOREIGN SCHEMA ${DIALS_OUT}`],
  ['CreatePLangStmt', 'CREATE LANGUAGE installs a procedural language (native code)'],
  ['CreateEventTrigStmt', 'CREATE EVENT TRIGGER runs code in every session\'s DDL'],
  ['AlterEventTrigStmt', 'ALTER EVENT TRIGGER changes code run in every session\'s DDL'],
]);

/** Object kinds whose rename, owner change or grant acts outside this database's data. */
const OUTSIDE_OBJECTS: ReadonlyMap<string, string> = new Map([
  ['OBJECT_DATABASE', DATABASES], ['OBJECT_ROLE', ACCOUNTS], ['OBJECT_TABLESPACE', 'acts on a server-wide storage location'],
  ['OBJECT_SUBSCRIPTION', DIALS_OUT], ['OBJECT_FOREIGN_SERVER', DIALS_OUT], ['OBJECT_FDW', DIALS_OUT],
  ['OBJECT_EVENT_TRIGGER', 'acts on every session\'s DDL'], ['OBJECT_LANGUAGE', 'acts on a procedural language (native code)'],
]);

/**
 * Extensions an agent may create: PostgreSQL's own trusted extensions (those a
 * database owner may create without being superuser: no file, program, network or
 * page access), plus a few widely used read-only helpers. Everything else (adminpack,
 * dblink, file_fdw, postgres_fdw, pg_surgery, pageinspect, untrusted languages ...)
 * is the operator's to install.
 */
const ALLOWED_EXTENSIONS = new Set([
  'btree_gin', 'btree_gist', 'citext', 'cube', 'dict_int', 'earthdistance', 'fuzzystrmatch', 'hstore', 'intarray',
  'isn', 'lo', 'ltree', 'pgcrypto', 'pg_trgm', 'seg', 'tablefunc', 'tcn', 'tsm_system_rows', 'tsm_system_time',
  'unaccent', 'uuid-ossp', 'plpgsql', 'plperl', 'pltcl', 'pg_stat_statements', 'pgstattuple', 'pg_buffercache',
  'pg_freespacemap', 'pgrowlocks', 'amcheck', 'bloom', 'intagg', 'vector', 'postgis', 'postgis_topology', 'postgis_raster',
]);

/** Trusted procedural languages: their code cannot touch files, programs or the network. */
const TRUSTED_LANGUAGES = new Set(['sql', 'plpgsql', 'plperl', 'pltcl', 'plv8']);

/** Schemas whose tables are the server's own: writing them changes accounts, functions, settings. */
const CATALOG_SCHEMAS = new Set(['pg_catalog', 'pg_toast', 'information_schema']);

/** Top-level statements that only read their objects (their relations are checked as reads, not targets). */
const READS = new Set(['SelectStmt', 'ExplainStmt', 'VariableShowStmt', 'VacuumStmt', 'CopyStmt']);
const WRITES_ROWS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** Statements that create their object: an unqualified pg_* name lands in the first schema of search_path, not pg_catalog. */
const CREATES = new Set(['CreateStmt', 'CreateTableAsStmt', 'ViewStmt', 'CreateSeqStmt', 'CompositeTypeStmt']);

export function escapeOf(stmts: PgNode[], inner: InnerEscape): string | undefined {
  for (const stmt of stmts) {
    const hit = statementEscape(stmt, inner) ?? catalogTarget(stmt) ?? treeEscape(stmt, inner);
    if (hit) return hit;
  }
  return undefined;
}

function statementEscape(stmt: PgNode, inner: InnerEscape): string | undefined {
  const type = nodeType(stmt);
  const body = bodyOf(stmt);
  const fixed = ESCAPE_STATEMENTS.get(type);
  if (fixed) return fixed;
  switch (type) {
    case 'CopyStmt':
      if (body.is_program) return 'COPY ... PROGRAM runs a program on the database server';
      return body.filename ? 'COPY to or from a file reads or writes a file on the database server' : undefined;
    case 'RenameStmt': return outsideObject('renaming', body.renameType);
    case 'AlterOwnerStmt': return outsideObject('changing the owner of', body.objectType);
    case 'GrantStmt': return outsideObject('granting on', body.objtype);
    case 'CreateExtensionStmt':
    case 'AlterExtensionStmt': return extensionEscape(body.extname);
    case 'CreateFunctionStmt': return functionBodyEscape(body.options, inner, 'sql');
    case 'DoStmt': return functionBodyEscape(body.args, inner, 'plpgsql');
    default: return optionsEscape(stmt);
  }
}

function outsideObject(verb: string, kind: unknown): string | undefined {
  const why = typeof kind === 'string' ? OUTSIDE_OBJECTS.get(kind) : undefined;
  return why ? `${verb} a ${String(kind).replace(/^OBJECT_/, '').toLowerCase().replace(/_/g, ' ')} ${why}` : undefined;
}

function extensionEscape(name: unknown): string | undefined {
  if (typeof name === 'string' && ALLOWED_EXTENSIONS.has(name.toLowerCase())) return undefined;
  return `extension ${String(name)} is not on the list agents may install (it can reach files, programs, other servers or table pages); the operator installs it (SPEC §6)`;
}

/** Foreign tables and anything else with generic options naming a server file or program (file_fdw). */
function optionsEscape(stmt: PgNode): string | undefined {
  return walk(stmt, (key, value) => {
    if (key !== 'DefElem' || !isRecord(value)) return undefined;
    const name = String(value.defname ?? '').toLowerCase();
    return name === 'program' || name === 'filename'
      ? `an option "${name}" makes the server ${name === 'program' ? 'run a program' : 'read a file'} (file_fdw)`
      : undefined;
  });
}

/**
 * CREATE FUNCTION / DO: the language must be trusted; a body given as a string is
 * classified when it is SQL, and searched for denied function names otherwise (a
 * procedural body's dynamic EXECUTE of built strings stays out of reach: SPEC §6).
 */
function functionBodyEscape(options: unknown, inner: InnerEscape, defaultLanguage: string): string | undefined {
  const opts = Array.isArray(options) ? options.map((o) => (isRecord(o) && isRecord(o.DefElem) ? o.DefElem : {})) : [];
  const language = stringNode(bodyOf(opts.find((o) => o.defname === 'language')?.arg))?.toLowerCase() ?? defaultLanguage;
  if (!TRUSTED_LANGUAGES.has(language)) return `language ${language} is not a trusted language: its code can reach files, programs and the network`;
  const as = opts.find((o) => o.defname === 'as')?.arg;
  const texts = isRecord(as) && isRecord(as.List) && Array.isArray(as.List.items)
    ? as.List.items.map((i) => stringNode(bodyOf(i)))
    : [stringNode(bodyOf(as))];
  for (const text of texts) {
    if (text === undefined) continue;
    const hit = language === 'sql' ? inner(text) : wordEscape(text);
    if (hit) return `the function body: ${hit}`;
  }
  return undefined;
}

/** `role` is a common word in bodies: only its SET / set_config / authorization forms count. */
const ROLE_CHANGE = /\bset\s+(local\s+|session\s+)?role\b|\breset\s+role\b|\bsession\s+authorization\b|set_config\s*\(\s*'(role|session_authorization)'/i;

/** Denied function names and protected settings among the words of a procedural body. */
function wordEscape(text: string): string | undefined {
  for (const [word] of text.toLowerCase().matchAll(/[a-z_\u0080-\uffff][\w$\u0080-\uffff]*/g)) {
    const group = denyGroupOf(word, true);
    if (group?.escape) return `function ${word} ${group.reason}`;
    if (word !== 'role' && PROTECTED_SETTINGS.has(word)) return `it changes ${word}: ${PROTECTED_SETTINGS.get(word)}`;
  }
  if (ROLE_CHANGE.test(text)) return `it changes the role: ${PROTECTED_SETTINGS.get('role')}`;
  const catalog = CATALOG_WRITE.exec(text);
  if (catalog) return `it writes ${catalog[2].replace(/\s+/g, '')}, a system catalog object: changing it changes accounts, functions or settings of the server`;
  return /\bprogram\b/i.test(text) && /\bcopy\b/i.test(text) ? 'COPY ... PROGRAM runs a program on the database server' : undefined;
}

/**
 * A write to a system catalog among a procedural body's words: INSERT INTO / UPDATE /
 * DELETE FROM / MERGE INTO (ONLY) [pg_catalog.]pg_… or information_schema.…, quoted or not.
 */
const CATALOG_WRITE = /\b(insert\s+into|update|delete\s+from|merge\s+into)\s+(?:only\s+)?((?:"?(?:pg_catalog|information_schema|pg_toast)"?\s*\.\s*)?"?pg_\w+"?|"?information_schema"?\s*\.\s*"?\w+"?)/i;

// ---------------------------------------------------------------- catalogs

/** INSERT/UPDATE/DELETE/MERGE anywhere (data-modifying CTEs too), and the objects a DDL statement acts on. */
function catalogTarget(stmt: PgNode): string | undefined {
  const type = nodeType(stmt);
  const body = bodyOf(stmt);
  const direct = READS.has(type) && !(type === 'CopyStmt' && body.is_from === true)
    ? undefined
    : WRITES_ROWS.has(type) ? undefined : firstCatalogObject([body.relation, body.relations, body.objects, body.object], CREATES.has(type));
  return direct ?? viewOverCatalog(type, body) ?? walk(stmt, (key, value) => (WRITES_ROWS.has(key) && isRecord(value) ? firstCatalogObject([value.relation]) : undefined));
}

/**
 * CREATE VIEW over a system catalog: a simple view is updatable, and a write through it
 * (or through a rule or trigger on it) lands in the catalog, so the view is refused
 * whatever it selects (`CREATE VIEW v AS SELECT * FROM pg_authid`, then `UPDATE v …`).
 */
function viewOverCatalog(type: string, body: Record<string, unknown>): string | undefined {
  if (type !== 'ViewStmt') return undefined;
  const hit = walk(body.query, (key, value) => (key === 'RangeVar' && isRecord(value) ? firstCatalogObject([{ RangeVar: value }]) : undefined));
  return hit ? `a view over a system catalog can write to it: ${hit}` : undefined;
}

function firstCatalogObject(candidates: unknown[], creates = false): string | undefined {
  for (const c of candidates.flatMap((x) => (Array.isArray(x) ? x : [x]))) {
    const name = qualifiedName(c);
    if (!name) continue;
    const [schema, rel] = name;
    // An unqualified pg_* name resolves in pg_catalog first (it is always searched first).
    if (schema !== undefined ? CATALOG_SCHEMAS.has(schema) : !creates && (rel.startsWith('pg_') || CATALOG_SCHEMAS.has(rel))) {
      return `${schema ? `${schema}.` : ''}${rel} is a system catalog object: changing it changes accounts, functions or settings of the server`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- calls and settings anywhere in the tree

function treeEscape(stmt: PgNode, inner: InnerEscape): string | undefined {
  // Identifiers that are a FuncCall's own name are judged with its arguments, below.
  const callNames = new Set<unknown>();
  walk(stmt, (key, value) => {
    if (key === 'FuncCall' && isRecord(value) && Array.isArray(value.funcname)) for (const n of value.funcname) if (isRecord(n)) callNames.add(n.String);
    return undefined;
  });
  return walk(stmt, (key, value) => {
    if (key === 'VariableSetStmt' && isRecord(value)) return settingEscape(value.name, value.kind);
    if (key === 'FuncCall' && isRecord(value)) return callEscape(value, inner);
    if (key === 'String' && !callNames.has(value)) return identifierEscape(stringNode(value));
    return undefined;
  });
}

function settingEscape(name: unknown, kind: unknown): string | undefined {
  const setting = typeof name === 'string' ? name.toLowerCase() : '';
  const why = PROTECTED_SETTINGS.get(setting);
  if (why) return `${kind === 'VAR_RESET' ? 'RESET' : 'SET'} ${setting} is refused: ${why}`;
  return undefined;
}

function callEscape(call: Record<string, unknown>, inner: InnerEscape): string | undefined {
  const name = lastName(call.funcname);
  if (name === undefined) return undefined;
  const group = denyGroupOf(name, true);
  if (group?.escape) return `function ${name} ${group.reason}`;
  const args = Array.isArray(call.args) ? call.args : [];
  if (name === 'set_config') {
    const setting = constantText(args[0]);
    if (setting === undefined) return 'set_config with a setting name computed at run time cannot be checked; name the setting as a constant';
    return settingEscape(setting, 'VAR_SET_VALUE');
  }
  if (RUNS_SQL_TEXT.has(name)) return sqlTextEscape(name, args, inner);
  return undefined;
}

/** query_to_xml('SELECT ...') and friends run their text as SQL: a constant is classified, anything else cannot be. */
function sqlTextEscape(name: string, args: unknown[], inner: InnerEscape): string | undefined {
  const positions = sqlArguments(name, args.length);
  if (positions === 'never') return `function ${name} builds SQL from its arguments, which cannot be checked`;
  // crosstab(text, int): only the first is SQL; an integer constant is not text.
  for (const i of positions) {
    const arg = args[i];
    if (isRecord(arg) && isRecord(arg.A_Const) && arg.A_Const.sval === undefined) continue;
    const sql = constantText(arg);
    if (sql === undefined) return `function ${name} runs SQL built at run time, which cannot be checked; pass the query as a string constant`;
    const hit = sql === '' ? undefined : inner(sql);
    if (hit) return `function ${name} runs SQL that ${hit.replace(/^function /, 'calls ')}`;
  }
  return undefined;
}

function identifierEscape(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const lower = name.toLowerCase();
  const group = denyGroupOf(lower, false);
  if (group?.escape) return `function ${lower} ${group.reason} (named here as ${name === lower ? 'an attribute or object' : `"${name}"`}, which calls or exposes it)`;
  if (RUNS_SQL_TEXT.has(lower)) return `function ${lower} runs SQL the classifier cannot see (named here in attribute notation or as an object)`;
  return undefined;
}
