/**
 * postgres: a backup's `native_ddl` (pg_dump's schema, SPEC §17.1) checked before a
 * restore runs it. The file is code anyone with write access to backup_dir can edit, so
 * every statement is parsed (libpg-query) and must be one pg_dump writes for a schema:
 * a CREATE of types, schemas, extensions, functions, tables, sequences, views, indexes,
 * triggers, policies, rules, foreign-data wrappers, foreign servers, user mappings, access
 * methods and event triggers, or an ALTER, COMMENT, REFRESH or setval of a relation (or an
 * ALTER of an event trigger) the script itself created; SET of session settings other than the role; set_config of the
 * search_path; the DO block that creates a function a named table uses only where the
 * target lacks it (native-ddl.ts). Anything else (DROP, TRUNCATE, DML, DO, a relation the script did not
 * create, a CREATE OR REPLACE of something it did not create) is BACKUP_CORRUPT before
 * anything is touched.
 */
import { DbError } from '../../../errors.js';
import type { NativeDdl } from '../contract/backup.js';
import { loadPostgresParser, parseStatements } from './classify.js';
import { isRecord } from '../../sql.js';
import { bodyOf, constantText, lastName, nodeType, qualifiedName as anyCase, stringNode, walk, type PgNode } from './tree.js';

/** Names as the parser gives them (unquoted ones already folded): a script's "T" is not the target's t. */
const qualifiedName = (node: unknown): [string | undefined, string] | undefined => anyCase(node, true);

/** Statements that only create something new (the server refuses a name already taken) or set up types and extensions. */
const CREATES = new Set([
  'CreateSchemaStmt', 'CreateExtensionStmt', 'CreateEnumStmt', 'CompositeTypeStmt', 'CreateRangeStmt', 'CreateDomainStmt',
  'DefineStmt', 'CreateCastStmt', 'CreateOpClassStmt', 'CreateOpFamilyStmt', 'CreateConversionStmt', 'CreateStatsStmt',
  'CreatePLangStmt', 'CreateTransformStmt', 'CommentStmt', 'AlterDomainStmt',
  'AlterOpFamilyStmt', 'AlterTSConfigurationStmt', 'AlterTSDictionaryStmt',
  // Foreign-data wrappers, foreign servers, user mappings and table access methods: pg_dump
  // writes each as one CREATE (a server's options, a mapping's too, are in it), never an ALTER.
  'CreateAmStmt',
]);

/**
 * Options that make the server run a program or read a file (file_fdw's `program` and
 * `filename`): refused wherever they stand, as in an agent's statements (SPEC §6). A foreign
 * table with one could be read at restore (a materialized view over it is refreshed).
 */
const HOST_OPTIONS = new Set(['program', 'filename']);

/** The relation a statement acts on, by where each kind keeps it. */
const RELATION: Record<string, string> = {
  AlterTableStmt: 'relation', IndexStmt: 'relation', CreateTrigStmt: 'relation', CreatePolicyStmt: 'table', RuleStmt: 'relation',
  AlterSeqStmt: 'sequence', RefreshMatViewStmt: 'relation',
};

const key = (n: [string | undefined, string] | undefined): string => (n ? `${n[0] ?? ''}.${n[1]}` : '');

function refuse(part: string, what: string): never {
  throw new DbError('BACKUP_CORRUPT', `the backup's native_ddl (${part}) holds ${what}, which is not part of the schema it carries; a backup file's SQL runs as it is, so nothing was restored`, { part, statement: what });
}

/** setval/set_config calls only: `SELECT pg_catalog.setval('s', n, b)` of a sequence the script created, set_config of the search_path. */
function checkSelect(body: Record<string, unknown>, created: Set<string>, part: string): void {
  const list = Array.isArray(body.targetList) ? body.targetList : [];
  if (body.fromClause || body.whereClause || !list.length) refuse(part, 'a SELECT that is not setval or set_config');
  for (const t of list) {
    const call = bodyOf(bodyOf(t).val);
    const fn = lastName(call.funcname);
    const first = Array.isArray(call.args) ? constantText(call.args[0]) : undefined;
    if (fn === 'set_config' && first === 'search_path') continue;
    if (fn === 'setval' && first !== undefined && created.has(key(splitName(first)))) continue;
    refuse(part, `SELECT ${fn ?? 'of something'}(${first ?? ''})`);
  }
}

/** 'public.actor_actor_id_seq' (quoted parts allowed) as [schema, name], as the server reads the text: unquoted parts folded, quoted ones kept. */
function splitName(text: string): [string | undefined, string] {
  const parts = text.match(/"(?:[^"]|"")*"|[^.]+/g) ?? [text];
  const one = (p: string): string => (p.startsWith('"') ? p.slice(1, -1).replaceAll('""', '"') : p.toLowerCase());
  return parts.length > 1 ? [one(parts[parts.length - 2]), one(parts[parts.length - 1])] : [undefined, one(parts[0])];
}

/** Relations a statement makes besides its own: identity sequences (`SEQUENCE NAME`), indexes of key constraints. */
function alsoCreated(stmt: PgNode, schema: string | undefined, created: Set<string>): void {
  walk(stmt, (k, v) => {
    const b = isRecord(v) ? v : {};
    if (k === 'DefElem' && b.defname === 'sequence_name') created.add(key(qualifiedName(b.arg)));
    if (k === 'Constraint' && typeof b.conname === 'string') created.add(`${schema ?? ''}.${b.conname}`);
    return undefined;
  });
}

/** The body of the DO block native-ddl.ts writes for a function a named table uses: a CREATE that gives way to one already there. */
const CREATE_IF_MISSING = /^\s*BEGIN EXECUTE '((?:[^']|'')*)'; EXCEPTION WHEN duplicate_function THEN NULL; END\s*$/;

/** A DO block: only that form, its statement one CREATE FUNCTION or PROCEDURE (without OR REPLACE). */
function checkDo(body: Record<string, unknown>, created: Set<string>, part: string): void {
  const options = (Array.isArray(body.args) ? body.args : []).map((a) => bodyOf(a));
  const language = options.find((o) => o.defname === 'language');
  const code = options.find((o) => o.defname === 'as');
  const source = code ? stringNode(bodyOf(code.arg)) : undefined;
  const m = source === undefined ? null : CREATE_IF_MISSING.exec(source);
  if (!m || (language && String(stringNode(bodyOf(language.arg))).toLowerCase() !== 'plpgsql') || options.length > (language ? 2 : 1)) refuse(part, 'a DO block');
  const inner = parseStatements(m[1].replaceAll("''", "'"));
  const fn = inner.length === 1 && nodeType(inner[0]) === 'CreateFunctionStmt' ? bodyOf(inner[0]) : undefined;
  if (!fn || fn.replace) refuse(part, 'a DO block that is not one CREATE FUNCTION');
  created.add(`fn ${key(qualifiedName(fn.funcname))}`);
}

function checkStatement(stmt: PgNode, created: Set<string>, part: string): void {
  const type = nodeType(stmt);
  const body = bodyOf(stmt);
  walk(stmt, (k, v) => {
    if (k === 'DefElem' && isRecord(v) && typeof v.defname === 'string' && HOST_OPTIONS.has(v.defname.toLowerCase())) refuse(part, `an option ${v.defname} (it runs a program or reads a file on the database host)`);
    return undefined;
  });
  if (CREATES.has(type)) return;
  if (type === 'CreateStmt' || type === 'AlterTableStmt') alsoCreated(stmt, qualifiedName(body.relation)?.[0], created);
  switch (type) {
    case 'VariableSetStmt': {
      const name = String(body.name ?? '').toLowerCase();
      if (name === 'role' || name === 'session_authorization' || name === 'session authorization') refuse(part, `SET ${name}`);
      return;
    }
    case 'SelectStmt': return checkSelect(body, created, part);
    // An event trigger that is off is created, then disabled (ALTER EVENT TRIGGER … DISABLE):
    // only one the script created may be altered.
    case 'CreateEventTrigStmt': created.add(`evt ${String(body.trigname ?? '')}`); return;
    case 'AlterEventTrigStmt': {
      const name = String(body.trigname ?? '');
      if (!created.has(`evt ${name}`)) refuse(part, `ALTER EVENT TRIGGER ${name}`);
      return;
    }
    // A wrapper whose handler or validator is a function of the script's own would run it at
    // restore (a validator checks every server, mapping and table option): only functions
    // the target had before (an extension's, the server's own).
    case 'CreateFdwStmt': {
      for (const o of Array.isArray(body.func_options) ? body.func_options : []) {
        const fn = qualifiedName(bodyOf(o).arg);
        if (fn && [...created].some((c) => c.startsWith('fn ') && c.endsWith(`.${fn[1]}`))) refuse(part, `a foreign-data wrapper whose ${String(bodyOf(o).defname)} is a function the script creates`);
      }
      return;
    }
    case 'CreateForeignServerStmt': created.add(`srv ${String(body.servername ?? '')}`); return;
    // pg_dump writes the mappings of the servers it writes, never of another one.
    case 'CreateUserMappingStmt': {
      const server = String(body.servername ?? '');
      if (!created.has(`srv ${server}`)) refuse(part, `a user mapping for server ${server}, which the script does not create`);
      return;
    }
    case 'DoStmt': return checkDo(body, created, part);
    case 'CreateStmt': case 'CreateSeqStmt': case 'CreateForeignTableStmt': {
      const rel = type === 'CreateSeqStmt' ? body.sequence : type === 'CreateForeignTableStmt' ? (isRecord(body.base) ? body.base.relation : undefined) : body.relation;
      created.add(key(qualifiedName(rel)));
      return;
    }
    // pg_dump writes a materialized view WITH NO DATA (the REFRESH comes after the data);
    // a CREATE TABLE AS, or a view created with its data, would run its query here.
    case 'CreateTableAsStmt': {
      const into = isRecord(body.into) ? body.into : {};
      if (body.objtype !== 'OBJECT_MATVIEW' || into.skipData !== true) refuse(part, body.objtype === 'OBJECT_MATVIEW' ? 'a materialized view created with its data' : 'CREATE TABLE AS');
      created.add(key(qualifiedName(into.rel)));
      return;
    }
    case 'ViewStmt': {
      const name = key(qualifiedName(body.view));
      if (body.replace && !created.has(name)) refuse(part, `CREATE OR REPLACE VIEW ${name}`);
      created.add(name);
      return;
    }
    case 'CreateFunctionStmt': {
      const name = `fn ${key(qualifiedName(body.funcname))}`;
      if (body.replace && !created.has(name)) refuse(part, `CREATE OR REPLACE FUNCTION ${name.slice(3)}`);
      created.add(name);
      return;
    }
    default: break;
  }
  const field = RELATION[type];
  if (!field) refuse(part, type.replace(/Stmt$/, ''));
  const rel = key(qualifiedName(body[field]));
  if (!created.has(rel)) refuse(part, `${type.replace(/Stmt$/, '')} on ${rel}`);
  if (type === 'AlterTableStmt') {
    for (const c of Array.isArray(body.cmds) ? body.cmds : []) {
      const sub = String(bodyOf(c).subtype ?? '');
      if (/Drop/i.test(sub)) refuse(part, `ALTER TABLE ${rel} ${sub}`);
    }
  }
  // An index is a relation too (ALTER INDEX … ATTACH PARTITION names it).
  if (type === 'IndexStmt' && typeof body.idxname === 'string') created.add(`${rel.slice(0, rel.indexOf('.'))}.${body.idxname}`);
}

export async function checkNativeDdl(ddl: NativeDdl): Promise<void> {
  await loadPostgresParser();
  const created = new Set<string>();
  for (const [part, script] of [['before_data', ddl.before_data], ['after_data', ddl.after_data]] as const) {
    for (const stmt of parseStatements(script)) checkStatement(stmt, created, part);
  }
}
