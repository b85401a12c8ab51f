/**
 * postgres: the schema of a portable backup as native DDL (contract/backup.ts NativeDdl).
 * pg_dump --schema-only runs inside the backup's own exported snapshot, split where
 * pg_restore splits it: pre-data (types, sequences, tables without keys, partitions,
 * functions, views) before the rows, post-data (keys in their order, indexes with their
 * methods, foreign keys, triggers, rules) after them; then the sequences' positions and
 * the refresh of materialized views, which a schema-only dump leaves to its data.
 */
import { Writable } from 'node:stream';
import { DbError } from '../../../errors.js';
import { BOOKKEEPING_SCHEMA, BOOKKEEPING_TABLES } from '../../bookkeeping.js';
import type { Session } from '../../dialect.js';
import type { Table } from '../../schema/model.js';
import type { NativeDdl, NativeDdlJob } from '../contract/backup.js';
import { CLIENT_ENV, libpqEnv, runPgTool } from './native.js';
import { mapScriptLines, withoutPsqlMarkers } from './psql.js';

const TOOL = 'pg_dump';

/** Settings pg_dump makes for its own session that a restore inside ours must not take (its timeouts, the encoding). */
const DROPPED_SETTING = /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|client_encoding) /;

/**
 * The script made to run inside one transaction without leaving anything on the
 * connection: psql's markers dropped, every session setting made local to the transaction.
 */
export function transactionalScript(script: string): string {
  return mapScriptLines(withoutPsqlMarkers(script), (line) => {
    if (DROPPED_SETTING.test(line)) return '';
    if (line.startsWith('SET ')) return `SET LOCAL ${line.slice(4)}`;
    return line.replace(/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/, "SELECT pg_catalog.set_config('search_path', '', true);");
  });
}

async function dumpSection(job: NativeDdlJob, snapshot: string, section: 'pre-data' | 'post-data', only: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  const stdout = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk); cb(); } });
  const args = [
    '--schema-only', `--section=${section}`, `--snapshot=${snapshot}`, '--no-owner', '--no-privileges', '--no-tablespaces',
    '--no-security-labels', '--no-publications', '--no-subscriptions', '--exclude-schema', BOOKKEEPING_SCHEMA,
    ...BOOKKEEPING_TABLES.flatMap((t) => ['--exclude-table', `*.${t}`]),
    ...only.flatMap((name) => ['--table', name]),
  ];
  try {
    await runPgTool({ command: TOOL, args, env: libpqEnv(job.url), clientEnv: CLIENT_ENV, stdout }, job.signal);
  } catch (err) {
    if (!(err instanceof DbError) || !['INTERNAL', 'UNSUPPORTED'].includes(err.code)) throw err;
    const why = err.code === 'UNSUPPORTED' ? `${TOOL} is not on PATH` : err.message;
    throw new DbError('UNSUPPORTED', `a portable backup of a whole PostgreSQL database carries its schema as ${TOOL} writes it (types, sequences, indexes, views, routines, triggers): ${why}. Name the tables to back up only their portable schema`, { ...err.details, tool: TOOL });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A qualified name as it stands in pg_dump's text: not followed by more of a name. */
const mentioned = (script: string, name: string): number => {
  const at = script.search(new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w$."])`));
  return at;
};

/** setval() for every sequence the DDL creates (identity ones included), at its position read now. */
async function sequencePositions(s: Session, before: string): Promise<string[]> {
  const rows = await s.query(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND n.nspname <> $1 ORDER BY 1`, [BOOKKEEPING_SCHEMA]);
  const out: string[] = [];
  for (const { name } of rows) {
    const seq = String(name);
    if (mentioned(before, seq) < 0) continue;
    const [v] = await s.query(`SELECT last_value::text AS v, is_called FROM ${seq}`);
    out.push(`SELECT pg_catalog.setval(${quoteLiteral(seq)}, ${String(v.v)}, ${v.is_called ? 'true' : 'false'});`);
  }
  return out;
}

/** REFRESH of every populated materialized view the DDL creates, in the order pg_dump creates them (dependencies first). */
async function refreshes(s: Session, before: string): Promise<string[]> {
  const rows = await s.query(`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'm' AND c.relispopulated`);
  return rows.map((r) => ({ name: String(r.name), at: mentioned(before, `CREATE MATERIALIZED VIEW ${String(r.name)}`) }))
    .filter((x) => x.at >= 0).sort((a, b) => a.at - b.at).map((x) => `REFRESH MATERIALIZED VIEW ${x.name};`);
}

const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** A name as a pg_dump pattern that matches only itself: each part double-quoted (no wildcards). */
const pattern = (schema: string, name: string): string => `"${schema.replaceAll('"', '""')}"."${name.replaceAll('"', '""')}"`;

/**
 * The relations a backup of named tables dumps: the tables, their partitions (at any
 * depth; not their inheritance children, which are tables of their own, named or not), and the sequences their defaults take values from that they do not own (a
 * sequence shared by two tables, Pagila's); owned ones (serial, identity) come with them.
 */
async function namedRelations(s: Session, tables: Table[]): Promise<{ patterns: string[]; oids: string[] }> {
  const names = tables.map((t) => pattern(t.schema ?? 'public', t.table));
  const rows = await s.query(`WITH RECURSIVE named AS (
      SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN unnest($1::text[], $2::text[]) AS x(s, t) ON n.nspname = x.s AND c.relname = x.t
      UNION SELECT i.inhrelid FROM pg_inherits i JOIN named ON i.inhparent = named.oid JOIN pg_class pc ON pc.oid = i.inhrelid WHERE pc.relispartition),
    used AS (SELECT DISTINCT d.refobjid AS oid FROM pg_attrdef ad JOIN named ON ad.adrelid = named.oid
      JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
      JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S')
    SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid IN (SELECT oid FROM named UNION SELECT oid FROM used) ORDER BY 2, 3`,
  [tables.map((t) => t.schema ?? 'public'), tables.map((t) => t.table)]);
  return { patterns: [...new Set([...names, ...rows.map((r) => pattern(String(r.schema), String(r.name)))])], oids: rows.filter((r) => r.kind !== 'S').map((r) => String(r.oid)) };
}

/**
 * The functions the named tables use, each created only where the target lacks it (a DO
 * block each, whose CREATE gives way to a function of that signature already there): pg_dump --table writes the tables but not the functions their defaults,
 * checks, generated columns and indexes call (`early`: before the tables, bodies not
 * checked) nor those their triggers call (after them). Functions of extensions and of
 * the system are the target's own.
 */
async function usedFunctions(s: Session, oids: string[]): Promise<{ early: string[]; late: string[] }> {
  const rows = await s.query(`WITH rel AS (SELECT unnest($1::oid[]) AS oid),
      parts AS (SELECT 'pg_attrdef'::regclass AS classid, ad.oid AS objid FROM pg_attrdef ad WHERE ad.adrelid IN (SELECT oid FROM rel)
        UNION ALL SELECT 'pg_constraint'::regclass, con.oid FROM pg_constraint con WHERE con.conrelid IN (SELECT oid FROM rel)
        UNION ALL SELECT 'pg_class'::regclass, x.indexrelid FROM pg_index x WHERE x.indrelid IN (SELECT oid FROM rel)),
      used AS (SELECT DISTINCT d.refobjid AS fn, true AS early FROM pg_depend d JOIN parts p ON d.classid = p.classid AND d.objid = p.objid WHERE d.refclassid = 'pg_proc'::regclass
        UNION SELECT DISTINCT t.tgfoid, false FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgrelid IN (SELECT oid FROM rel))
    SELECT u.fn::regprocedure::text AS sig, pg_get_functiondef(u.fn) AS def, bool_or(u.early) AS early FROM used u JOIN pg_proc f ON f.oid = u.fn JOIN pg_namespace n ON n.oid = f.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND f.prokind IN ('f', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = u.fn AND e.deptype = 'e')
    GROUP BY u.fn ORDER BY 1`, [oids]);
  // CREATE without OR REPLACE, its duplicate ignored: the block can only add a missing function, never
  // replace one the target has (native-ddl-check.ts accepts a DO block of this form alone).
  const create = (r: Record<string, unknown>): string => {
    const def = String(r.def).replace(/^CREATE OR REPLACE (FUNCTION|PROCEDURE) /, 'CREATE $1 ');
    const body = `BEGIN EXECUTE ${quoteLiteral(def)}; EXCEPTION WHEN duplicate_function THEN NULL; END`;
    let tag = '$cmx$';
    for (let i = 1; body.includes(tag); i++) tag = `$cmx${i}$`;
    return `DO ${tag} ${body} ${tag};`;
  };
  const early = rows.filter((r) => r.early).map(create);
  return { early: early.length ? ['SET LOCAL check_function_bodies = false;', ...early] : [], late: rows.filter((r) => !r.early).map(create) };
}

/**
 * Reads the native DDL in s, whose transaction is the backup's snapshot: of the whole
 * database, or of the tables job.tables names (null then when pg_dump is missing: such a
 * backup keeps to the portable schema, and a restore lists what that leaves out).
 */
export async function readNativeDdl(s: Session, job: NativeDdlJob): Promise<NativeDdl | null> {
  const [snap] = await s.query('SELECT pg_export_snapshot() AS id');
  const named = job.tables ? await namedRelations(s, job.tables) : null;
  let pre: string;
  let post: string;
  try {
    pre = await dumpSection(job, String(snap.id), 'pre-data', named?.patterns ?? []);
    post = await dumpSection(job, String(snap.id), 'post-data', named?.patterns ?? []);
  } catch (err) {
    if (named && err instanceof DbError && err.code === 'UNSUPPORTED') return null;
    throw err;
  }
  const version = /^-- Dumped by pg_dump version (\S+)/m.exec(pre)?.[1] ?? 'unknown';
  const functions = named ? await usedFunctions(s, named.oids) : { early: [], late: [] };
  const before = [...functions.early, transactionalScript(pre), ...functions.late].join('\n');
  const finish = [...await sequencePositions(s, before), ...await refreshes(s, before)];
  return {
    backend: 'postgres',
    producer: `${TOOL} ${version}`,
    before_data: before,
    after_data: [transactionalScript(post), ...finish].join('\n'),
    ...(named ? { tables_only: true } : {}),
  };
}

/**
 * Kinds of pg_dump's table of contents that stand on their own: what belongs to a table
 * (its defaults, keys, indexes, triggers, policies, comment) is in the table's own
 * `table_unportable` and columns' `unportable`; owned and identity sequences come with
 * their columns.
 */
const STANDALONE = /^(VIEW|MATERIALIZED VIEW|FUNCTION|PROCEDURE|AGGREGATE|TYPE|DOMAIN|COLLATION|EXTENSION|RULE|EVENT TRIGGER|CAST|OPERATOR.*|TEXT SEARCH .*|FOREIGN TABLE|SERVER|USER MAPPING|CONVERSION|STATISTICS|SEQUENCE)$/;

/** `schema.table` after CREATE INDEX … ON [ONLY] (pg_dump's spelling: each part quoted only where it must be). */
const INDEX_ON = /^CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?((?:"(?:[^"]|"")+"|[^\s".]+)\.(?:"(?:[^"]|"")+"|[^\s"(]+))/;
const unquoted = (qualified: string): string => qualified.replace(/"((?:[^"]|"")+)"/g, (_, x: string) => x.replaceAll('""', '"'));

/**
 * The standalone objects of a backup's native DDL (its `-- Name: …; Type: …` headers), each
 * once; with `tables` (the backup's, as `schema.name`), also the tables that are not among
 * them (a partitioned table's partitions, whose rows the parent's carry) and the indexes
 * made on those (Pagila's `idx_fk_payment_p2022_01_customer_id`).
 */
export function nativeDdlObjects(ddl: NativeDdl, tables?: ReadonlySet<string>): Array<{ kind: string; name: string }> {
  const text = `${ddl.before_data}\n${ddl.after_data}`;
  const owned = new Set([...text.matchAll(/^-- Name: (.+?); Type: SEQUENCE OWNED BY;/gm)].map((m) => m[1]));
  const out = new Map<string, { kind: string; name: string }>();
  for (const m of text.matchAll(/^-- Name: (.+?); Type: (.+?); Schema: (.+?); Owner: .*\n(?:--\n)*\n?(.*)$/gm)) {
    const [, name, kind, schema, first] = m;
    if (tables && (kind === 'TABLE' || kind === 'INDEX')) {
      const on = kind === 'TABLE' ? `${schema}.${name}` : unquoted(INDEX_ON.exec(first)?.[1] ?? '');
      if (on && !tables.has(on)) out.set(`${kind} ${schema}.${name}`, { kind: kind.toLowerCase(), name: kind === 'TABLE' ? on : `${schema}.${name} on ${on}` });
      continue;
    }
    if (!STANDALONE.test(kind)) continue;
    // Identity and owned sequences come with their columns (ALTER TABLE … ADD GENERATED, OWNED BY).
    if (kind === 'SEQUENCE' && (owned.has(name) || /^ALTER TABLE/.test(first))) continue;
    const full = schema === '-' ? name : `${schema}.${name}`;
    out.set(`${kind} ${full}`, { kind: kind.toLowerCase(), name: full });
  }
  return [...out.values()];
}

/**
 * For each object of nativeDdlObjects, whether the database has one of that kind and name
 * (a routine with the same arguments); false for kinds not looked up (casts,
 * operators, rules …), which then stay listed. One query.
 */
export async function objectsPresent(s: Session, objects: ReadonlyArray<{ kind: string; name: string }>): Promise<boolean[]> {
  const params: string[] = [];
  const p = (v: string): string => `$${params.push(v)}::text`;
  const ns = (schema: string): string => `to_regnamespace(quote_ident(${p(schema)}))`;
  const tests = objects.map(({ kind, name }) => {
    const dot = name.indexOf('.');
    const schema = dot < 0 ? '' : name.slice(0, dot);
    const rest = dot < 0 ? name : name.slice(dot + 1);
    const qualified = (n: string): string => `format('%I.%I', ${p(schema)}, ${p(n)})`;
    switch (kind) {
      case 'type': case 'domain': return `to_regtype(${qualified(rest)}) IS NOT NULL`;
      case 'view': case 'materialized view': case 'sequence': case 'table': case 'foreign table': return `to_regclass(${qualified(rest)}) IS NOT NULL`;
      case 'index': return `to_regclass(${qualified(rest.split(' on ')[0])}) IS NOT NULL`;
      // A routine by name and arguments (bump(integer) is not bump(text)), as pg_dump names it: types
      // only (15), or with names and OUT arguments (older dumps: film_in_stock(p_film_id integer, …)).
      case 'function': case 'procedure': case 'aggregate': {
        const sig = p(rest);
        return `EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = ${ns(schema)} AND ${sig} IN (format('%s(%s)', proname, oidvectortypes(proargtypes)), format('%s(%s)', proname, pg_get_function_arguments(oid)), format('%s(%s)', proname, pg_get_function_identity_arguments(oid))))`;
      }
      case 'collation': return `EXISTS (SELECT 1 FROM pg_collation WHERE collnamespace = ${ns(schema)} AND collname = ${p(rest)})`;
      case 'extension': return `EXISTS (SELECT 1 FROM pg_extension WHERE extname = ${p(name)})`;
      default: return 'false';
    }
  });
  if (tests.length === 0) return [];
  const [row] = await s.query(`SELECT ARRAY[${tests.map((x) => `coalesce(${x}, false)`).join(', ')}] AS present`, params);
  return (row?.present as boolean[] | undefined) ?? objects.map(() => false);
}

/**
 * No schema but `public` (and our bookkeeping schema, which the DDL leaves out), and
 * nothing in `public` that a user or an extension made:
 * relations, types of their own (not a relation's row type or an array), routines,
 * operators, collations, text-search objects, conversions. An empty database made from
 * template1 answers true; one where an extension or anything else was created, false.
 */
export async function emptyForNativeDdl(s: Session): Promise<boolean> {
  // Without public (dropped), the DDL, which does not make it, could not run: not empty for this.
  const [row] = await s.query(`SELECT to_regnamespace('public') IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema', $1) AND nspname !~ '^pg_')
    AND NOT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_type t WHERE typnamespace = to_regnamespace('public') AND typrelid = 0 AND typelem = 0)
    AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprnamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_collation WHERE collnamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgnamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictnamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_conversion WHERE connamespace = to_regnamespace('public'))
    AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname <> 'plpgsql') AS empty`, [BOOKKEEPING_SCHEMA]);
  return row?.empty === true;
}