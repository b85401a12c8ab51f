/**
 * postgres: the catalog reader. One query over pg_class, pg_attribute, pg_constraint and
 * pg_index (json_agg per table), mapped back to the portable schema; what has no portable
 * form comes back as `native` rather than being dropped.
 */
import type { ReadFilter } from '../contract/schema.js';
import type { Row, Session } from '../../dialect.js';
import { constraintName, markUnportable, parseType, type Check, type Column, type ForeignKey, type Index, type Table, type TypeSpec } from '../../schema/model.js';
import {
  byName, fkAction, isNullDefault, makeColumn, nativeType, parseJson, readDefaultText, tryPortable, type DefaultRead,
} from '../../schema/read-values.js';
import { sequencePhrase, serialPhrase } from './sequence-options.js';

const SQL = `
SELECT n.nspname AS schema_name, c.relname AS table_name,
  coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'notnull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
      'generated', a.attgenerated, 'comment', col_description(c.oid, a.attnum),
      'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT ty.typcollation FROM pg_type ty WHERE ty.oid = a.atttypid) THEN (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN '' ELSE quote_ident(cn.nspname) || '.' END || quote_ident(co.collname)
        FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
      'owned_seq', CASE WHEN a.attidentity = '' AND left(pg_get_expr(d.adbin, d.adrelid), 8) = 'nextval(' THEN pg_get_serial_sequence(c.oid::regclass::text, a.attname) IS NOT NULL END,
      -- The sequence of an identity, or the one a serial column owns (OWNED BY): its options, as text (bigint).
      'seq', CASE WHEN a.attidentity <> '' OR left(pg_get_expr(d.adbin, d.adrelid), 8) = 'nextval(' THEN (SELECT json_build_object('name', sq.seqrelid::regclass::text,
          'type', format_type(sq.seqtypid, NULL), 'start', sq.seqstart::text, 'increment', sq.seqincrement::text, 'min', sq.seqmin::text,
          'max', sq.seqmax::text, 'cache', sq.seqcache::text, 'cycle', sq.seqcycle)
        FROM pg_depend dp JOIN pg_sequence sq ON sq.seqrelid = dp.objid
        WHERE dp.classid = 'pg_class'::regclass AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = c.oid AND dp.refobjsubid = a.attnum AND dp.deptype IN ('a', 'i') LIMIT 1) END) ORDER BY a.attnum)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]')::text AS columns,
  coalesce((SELECT json_agg(json_build_object('name', con.conname, 'type', con.contype, 'index', con.conindid,
      'columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = k.num),
      'ref_schema', fn.nspname, 'ref_table', fc.relname,
      'ref_columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_attribute att ON att.attrelid = con.confrelid AND att.attnum = k.num),
      'on_delete', con.confdeltype, 'on_update', con.confupdtype, 'definition', pg_get_constraintdef(con.oid),
      'deferrable', con.condeferrable, 'deferred', con.condeferred, 'valid', con.convalidated) ORDER BY con.conname)
    FROM pg_constraint con LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
    WHERE con.conrelid = c.oid), '[]')::text AS constraints,
  coalesce((SELECT json_agg(json_build_object('name', ic.relname, 'oid', x.indexrelid, 'unique', x.indisunique,
      'plain', x.indexprs IS NULL AND x.indpred IS NULL AND (SELECT am.amname FROM pg_am am WHERE am.oid = ic.relam) = 'btree' AND 0 = ALL (x.indoption::int2[])
        AND x.indnkeyatts = x.indnatts AND NOT coalesce((to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false)
        AND (SELECT bool_and(opc.opcdefault) FROM unnest(x.indclass::oid[]) k(o) JOIN pg_opclass opc ON opc.oid = k.o)
        AND NOT EXISTS (SELECT 1 FROM unnest(x.indcollation::oid[]) WITH ORDINALITY k(coll, ord) JOIN pg_attribute att ON att.attrelid = x.indrelid AND att.attnum = x.indkey[k.ord - 1]
                        WHERE k.coll <> 0 AND k.coll <> att.attcollation),
      'definition', pg_get_indexdef(x.indexrelid),
      'columns', (SELECT json_agg(att.attname ORDER BY k.ord) FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(num, ord)
                  JOIN pg_attribute att ON att.attrelid = x.indrelid AND att.attnum = k.num WHERE k.ord <= x.indnkeyatts)))
    FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid WHERE x.indrelid = c.oid), '[]')::text AS indexes,
  json_build_object('partition_by', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    'partitions', (SELECT json_agg(pc.relname ORDER BY pc.relname) FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhrelid WHERE i.inhparent = c.oid),
    'comment', obj_description(c.oid, 'pg_class'), 'options', c.reloptions, 'rls', c.relrowsecurity, 'force_rls', c.relforcerowsecurity,
    'policies', (SELECT json_agg(p.polname ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid),
    'triggers', (SELECT json_agg(tg.tgname ORDER BY tg.tgname) FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal),
    'unlogged', c.relpersistence = 'u', 'replica_identity', c.relreplident,
    'inherits', (SELECT json_agg(i.inhparent::regclass::text ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid),
    'children', CASE WHEN c.relkind = 'r' THEN (SELECT json_agg(i.inhrelid::regclass::text ORDER BY 1) FROM pg_inherits i WHERE i.inhparent = c.oid) END)::text AS extra
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND (($1::text IS NULL AND $2::text IS NULL) OR n.nspname = coalesce($1::text, current_schema()))
  AND ($2::text IS NULL OR c.relname = $2)
ORDER BY n.nspname, c.relname`;

const NAMES: Record<string, string> = {
  integer: 'integer', bigint: 'bigint', smallint: 'smallint', real: 'real', 'double precision': 'double', boolean: 'boolean',
  text: 'text', 'character varying': 'text', date: 'date', 'time without time zone': 'time', 'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz', uuid: 'uuid', jsonb: 'json', bytea: 'binary',
  // `json` is not: it keeps its document's text (duplicate keys, spacing, \u escapes), which the
  // portable json (jsonb here) does not; as a native type its text is carried as it is.
};

/** From format_type(): 'character varying(20)', 'numeric(12,2)', 'timestamp with time zone' ... */
export function pgType(formatted: string): TypeSpec {
  if (Object.hasOwn(NAMES, formatted)) return parseType(NAMES[formatted], undefined);
  const m = /^(numeric|character varying|character)\((\d+)(?:,(\d+))?\)$/.exec(formatted);
  if (m) {
    const base = { numeric: 'decimal', 'character varying': 'varchar', character: 'char' }[m[1]]!;
    return tryPortable(`${base}(${m[2]}${m[3] !== undefined ? `,${m[3]}` : ''})`) ?? nativeType(formatted);
  }
  return nativeType(formatted);
}

/** A column default from pg_get_expr(): nextval() marks a serial column. */
export function pgDefault(raw: string | null, spec: TypeSpec): DefaultRead {
  if (raw === null || raw === undefined) return { value: null, sequence: false };
  const text = raw.trim();
  if (/^nextval\(/i.test(text)) return { value: null, sequence: true };
  if (isNullDefault(text)) return { value: null, sequence: false };
  return readDefaultText(text, spec, false);
}

function pgTable(row: Row): Table {
  const constraints = parseJson(row.constraints);
  const pk = new Set<string>(constraints.find((k) => k.type === 'p')?.columns ?? []);
  const uniqueCols = new Set(constraints.filter((k) => k.type === 'u' && k.columns?.length === 1).map((k) => k.columns[0] as string));
  const backing = new Set(constraints.filter((k) => k.type === 'p' || (k.type === 'u' && k.columns?.length === 1)).map((k) => k.index));
  const fks = constraints.filter((k) => k.type === 'f');
  const singleFk = new Map(fks.filter((k) => k.columns.length === 1).map((k) => [k.columns[0] as string, k]));
  const schema = String(row.schema_name);
  const columns = parseJson(row.columns).map((a): Column => {
    const spec = pgType(a.type);
    const d = pgDefault(a.default, spec);
    const generates = a.identity === 'a' || a.identity === 'd' || d.sequence;
    const auto = generates && pk.has(a.name) && pk.size === 1;
    const col = makeColumn(a.name, spec, {
      nullable: !a.notnull, primary_key: pk.has(a.name), auto_increment: auto, unique: uniqueCols.has(a.name) && !pk.has(a.name),
      // A sequence default that is not the table's only key's identity is shown as what it is (nextval(…)).
      default: auto || a.generated ? null : d.sequence ? { sql: String(a.default).trim() } : d.value,
    });
    const fk = singleFk.get(a.name);
    if (fk) {
      col.references = { table: fk.ref_table, column: fk.ref_columns[0], on_delete: fkAction(fk.on_delete), on_update: fkAction(fk.on_update) };
      if (fk.ref_schema !== schema) col.references.schema = fk.ref_schema;
      if (fk.name !== constraintName(String(row.table_name), [a.name], 'fkey')) col.references.name = fk.name;
    }
    if (a.comment !== null) col.comment = a.comment;
    markUnportable(col, columnFeatures(a, generates && !auto, col.default));
    return col;
  });
  const indexes = parseJson(row.indexes).filter((x) => !backing.has(x.oid)).map((x): Index => {
    const ix: Index = { name: x.name, columns: x.columns ?? [], unique: x.unique };
    if (!x.plain) ix.native = x.definition;
    return ix;
  }).sort(byName);
  const foreign_keys = fks.filter((k) => k.columns.length > 1).map((k): ForeignKey => ({
    name: k.name, columns: k.columns, references: { table: k.ref_table, columns: k.ref_columns, ...(k.ref_schema !== schema ? { schema: k.ref_schema } : {}) },
    on_delete: fkAction(k.on_delete), on_update: fkAction(k.on_update),
  }));
  const checks = constraints.filter((k) => k.type === 'c').map((k): Check => ({ name: k.name, expression: String(k.definition).replace(/^CHECK \((.*)\)( NOT VALID)?$/s, '$1') }));
  const table: Table = { table: String(row.table_name), schema, columns, indexes, foreign_keys, checks };
  markUnportable(table, tableFeatures(String(row.table_name), parseJson(`[${String(row.extra)}]`)[0] ?? {}, constraints, columns.filter((c) => c.primary_key).map((c) => c.name)));
  return table;
}

/**
 * What a column has that its portable form does not say (SPEC §11.3 `unportable`): the
 * kind of identity, a key taken from a sequence it does not own (shared with another
 * table), a serial (an owned sequence, not an identity), options of its sequence other
 * than an identity's defaults, a generated expression, a collation, a default spelt otherwise.
 */
function columnFeatures(a: Record<string, any>, keyNotAuto: boolean, read: Column['default']): string[] {
  const out: string[] = [];
  const raw = a.default === null || a.default === undefined ? null : String(a.default);
  if (a.identity === 'a' && !keyNotAuto) out.push('generated always as identity');
  if (keyNotAuto) out.push(a.identity ? `generated ${a.identity === 'a' ? 'always' : 'by default'} as identity (not the table's only key column)` : `default ${raw}`);
  else if (a.owned_seq === false) out.push(`default ${raw} (a sequence it does not own, which other columns may share)`);
  // A table made from the portable definition has an identity with every option at its default.
  else if (a.owned_seq === true && a.seq) out.push(serialPhrase(a.seq.name));
  const options = a.seq ? sequencePhrase(a.seq, a.type) : null;
  if (options) out.push(options);
  if (a.generated === 's') out.push(`generated always as (${raw}) stored`);
  if (a.collation) out.push(`collate ${a.collation}`);
  if (!a.generated && !a.identity && raw !== null && !/^nextval\(/i.test(raw) && typeof read === 'object' && read !== null && read.sql !== raw) out.push(`default ${raw}`);
  return out;
}

/** What a table has that its portable form does not say: partitioning, the key's order, constraint kinds and options, RLS, triggers, comment. */
function tableFeatures(name: string, x: Record<string, any>, constraints: Array<Record<string, any>>, keyInColumnOrder: string[]): string[] {
  const out: string[] = [];
  if (x.partition_by) out.push(`partition by ${x.partition_by}${x.partitions?.length ? ` (partitions ${x.partitions.join(', ')})` : ''}`);
  // Table inheritance: each table's own rows are its own (backup-sql.ts), but the link between them is PostgreSQL's.
  if (x.inherits?.length) out.push(`inherits ${x.inherits.join(', ')}`);
  if (x.children?.length) out.push(`inherited by ${x.children.join(', ')}`);
  const key = constraints.find((k) => k.type === 'p');
  if (key && key.columns.join('\u0000') !== keyInColumnOrder.join('\u0000')) out.push(`primary key (${key.columns.join(', ')}) in that order`);
  // The portable table names no primary key: one made from it gets <table>_pkey (Northwind's pk_categories did).
  if (key && key.name !== constraintName(name, [], 'pkey')) out.push(`primary key named ${key.name}`);
  for (const k of constraints) {
    if (k.type === 'f' && k.deferrable) out.push(`foreign key ${k.name} deferrable${k.deferred ? ' initially deferred' : ''}`);
    if (k.type === 'u' && k.columns.length > 1) out.push(`unique constraint ${k.name} (${k.columns.join(', ')}), restored as a unique index`);
    // The portable `unique` lets NULLs repeat; NULLS NOT DISTINCT (PostgreSQL 15) does not.
    if (k.type === 'u' && /\bNULLS NOT DISTINCT\b/i.test(String(k.definition ?? ''))) out.push(`unique constraint ${k.name} NULLS NOT DISTINCT`);
    if (k.type === 'x') out.push(`exclusion constraint ${k.name}: ${k.definition}`);
    if (k.valid === false) out.push(`constraint ${k.name} not valid`);
  }
  if (x.comment !== null && x.comment !== undefined) out.push('a comment on the table');
  if (x.options?.length) out.push(`with (${x.options.join(', ')})`);
  if (x.rls) out.push(`row level security${x.force_rls ? ' (forced)' : ''}${x.policies?.length ? `, policies ${x.policies.join(', ')}` : ''}`);
  if (x.triggers?.length) out.push(`triggers ${x.triggers.join(', ')}`);
  if (x.unlogged) out.push('unlogged');
  if (x.replica_identity && x.replica_identity !== 'd') out.push(`replica identity ${({ f: 'full', n: 'nothing', i: 'index' } as Record<string, string>)[x.replica_identity] ?? x.replica_identity}`);
  return out;
}

/** Without a schema: every user schema, or with a table, the current schema. */
export async function readPostgresTables(s: Session, f: ReadFilter): Promise<Table[]> {
  return (await s.query(SQL, [f.schema ?? null, f.table ?? null])).map(pgTable);
}
