/**
 * postgres: the SQL of a portable backup (contract/backup.ts PortableSql). Rows are
 * read as lines the server builds itself, streamed through COPY as bytes.
 */
import type { PortableSql, Quoting } from '../contract/backup.js';
import { finishBytesFor, finishMarked, orderBy } from '../../backup/sql.js';
import { specOf } from '../../backup/values.js';
import type { Column, Table } from '../../schema/model.js';
import { ownRowsOf } from './ddl.js';
import { identityOptionsSql } from './sequence-options.js';

/** The table's name, with its schema when it has one. */
const qualified = (t: Table, f: Quoting): string => (t.schema ? `${f.quote(t.schema)}.` : '') + f.quote(t.table);

/**
 * A column's value as its canonical JSON text, computed by PostgreSQL (in C, on its own
 * core) rather than in our process. Where float8out and JavaScript spell a number
 * differently (exponents, -0, NaN),
 * the value is marked `"\F...` / `"\J...` for finishLine: JSON text never holds \F or \J.
 */
function canonical(c: Column, f: Quoting): string {
  const q = f.quote(c.name);
  const spec = specOf(c);
  switch (spec.kind) {
    case 'smallint': case 'integer': return `${q}::text`;
    case 'bigint': return `CASE WHEN ${q} BETWEEN -9007199254740991 AND 9007199254740991 THEN ${q}::text ELSE '"' || ${q}::text || '"' END`;
    case 'decimal': case 'date': case 'time': case 'uuid': return `'"' || ${q}::text || '"'`;
    case 'real': case 'double': {
      const positional = spec.kind === 'real' ? '1e6' : '1e15';
      return `CASE WHEN abs(${q}) >= 1e-4 AND abs(${q}) < ${positional} THEN ${q}::text WHEN ${q} = 0 THEN (CASE WHEN ${q}::text = '-0' THEN '-0' ELSE '0' END) ELSE '"\\F' || ${q}::text || '"' END`;
    }
    case 'boolean': return `CASE WHEN ${q} THEN 'true' WHEN NOT ${q} THEN 'false' END`;
    case 'text': case 'varchar': case 'timestamp': return `to_json(${q})::text`;
    // CHAR to text drops the padding, as the canonical form does.
    case 'char': return `to_json(${q}::text)::text`;
    case 'timestamptz': return `replace(to_json(${q})::text, '+00:00"', 'Z"')`;
    case 'binary': return `'"' || translate(encode(${q}, 'base64'), E'\\n', '') || '"'`;
    // jsonb prints the canonical spelling already (see canonicalJson).
    case 'json': return `to_json(${q}::jsonb::text)::text`;
    default:
      // bpchar without a length keeps the spaces it was given, and a cast to text drops them: format() prints it as it is.
      if (spec.kind === 'native' && /^(bpchar|character)$/i.test((spec.native ?? '').trim())) return `CASE WHEN ${q} IS NOT NULL THEN to_json(format('%s', ${q}))::text END`;
      return `to_json(${q}::text)::text`;
  }
}

export const portable: PortableSql = {
  // Its own rows only: an inheritance parent's FROM also reads its children's (ddl.ts ownRowsOf).
  select: (t, f) => {
    const name = qualified(t, f);
    return `SELECT '[' || ${t.columns.map((c) => `coalesce(${canonical(c, f)}, 'null')`).join(` || ',' || `)} || ']' FROM ${name} WHERE ${ownRowsOf(name)}${orderBy(t, f)}`;
  },
  finishLine: () => finishMarked,
  // Only real and double are marked (canonical).
  finishBytes: (t) => finishBytesFor(t.columns.some((c) => ['real', 'double'].includes(specOf(c).kind))),
  async readSequence(s, t, column, f) {
    // An owned sequence (serial, identity), else the one the column's default takes its values from (Pagila's are not owned).
    const [row] = await s.query(`SELECT coalesce(pg_get_serial_sequence($1, $2), (SELECT d.refobjid::regclass::text FROM pg_attrdef ad
        JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
        WHERE ad.adrelid = $1::regclass AND ad.adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2) LIMIT 1)) AS seq`, [qualified(t, f), column]);
    if (!row?.seq) return null;
    // The sequence name comes back quoted and qualified by the server.
    // Past the last value by the sequence's own step (INCREMENT BY 3 hands out 10001, 10004 …).
    const [v] = await s.query(`SELECT last_value::text AS v, is_called, (SELECT seqincrement::text FROM pg_sequence WHERE seqrelid = $1::regclass) AS step FROM ${String(row.seq)}`, [String(row.seq)]);
    return v ? (v.is_called ? (BigInt(String(v.v)) + BigInt(String(v.step ?? '1'))).toString() : String(v.v)) : null;
  },
  writeSequence: (t, column, value, f) => [{ text: 'SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint, false)', params: [qualified(t, f), column, value] }],
  // The restore made the column an identity with every option at its default: the source's options, set on it.
  carryUnportable(t, c, features, f) {
    const at = features.map((x) => [x, c.auto_increment ? identityOptionsSql(x, c.type) : null] as const).find(([, clauses]) => clauses !== null);
    if (!at) return { carried: [], statements: [] };
    return { carried: [at[0]], statements: [`ALTER TABLE ${qualified(t, f)} ALTER COLUMN ${f.quote(c.name)} ${at[1]}`] };
  },
  async computedColumns(s, t, f) {
    const rows = await s.query("SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated <> ''", [qualified(t, f)]);
    return rows.map((r) => String(r.attname));
  },
  async missingTypes(s, types) {
    const missing: string[] = [];
    for (const type of types) {
      // A name the parser cannot read is left to CREATE TABLE to report.
      const [row] = await s.query('SELECT to_regtype($1) IS NULL AS missing', [type]).catch(() => [{ missing: false }]);
      if (row?.missing) missing.push(type);
    }
    return missing;
  },
  async missingSequences(s, defaults) {
    const out: Array<{ expression: string; sequence: string }> = [];
    for (const expression of defaults) {
      // pg_get_expr spells it nextval('name'::regclass), the name quoted as regclass prints it.
      const m = /^nextval\('((?:[^']|'')+)'::regclass\)$/i.exec(expression.trim());
      if (!m) continue;
      const sequence = m[1].replaceAll("''", "'");
      const [row] = await s.query('SELECT to_regclass($1) IS NULL AS missing', [sequence]).catch(() => [{ missing: false }]);
      if (row?.missing) out.push({ expression, sequence });
    }
    return out;
  },
  drop: (tables, f) => (tables.length ? [`DROP TABLE ${tables.map((t) => qualified(t, f)).join(', ')}`] : []),
  async dependents(s, tables, f) {
    const rows = await s.query(`WITH t AS (SELECT unnest($1::text[])::regclass::oid AS oid)
      SELECT DISTINCT 'view ' || v.oid::regclass::text AS what FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid IN (SELECT oid FROM t) AND v.oid NOT IN (SELECT oid FROM t)
      UNION SELECT DISTINCT 'foreign key ' || c.conname || ' of ' || c.conrelid::regclass::text FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid IN (SELECT oid FROM t) AND c.conrelid NOT IN (SELECT oid FROM t)
      ORDER BY 1`, [tables.map((t) => qualified(t, f))]);
    return rows.map((r) => String(r.what));
  },
  beforeLoad: [],
  afterLoad: [],
  keysAfterLoad: true,
  // A trigger may drop, delete, move or add rows, a rule or a child table take them: COPY's count is then not the table's.
  async exactLoad(s, t, f) {
    const [row] = await s.query(`SELECT c.relkind = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal)
        AND NOT EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid)
        AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid) AS exact
      FROM pg_class c WHERE c.oid = $1::regclass`, [qualified(t, f)]);
    return row?.exact === true;
  },
  commitsBatches: false,
};
