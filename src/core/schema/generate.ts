/**
 * Portable tables from models: a JSON Schema object or a compact field map.
 * The rules below are the contract (SPEC.md copies them); errors are INVALID_INPUT
 * with `details.field`.
 *
 * Which form: a plain object whose `properties` is an object, or whose `type` is
 * "object", is a JSON Schema. Otherwise a plain object whose values are all strings
 * is a field map. Anything else is refused (field "model").
 *
 * JSON Schema form
 * - Table name: the `table` argument (used as given), else the schema's `title`:
 *   lower-cased, each run of characters other than a-z, 0-9 and _ replaced by one
 *   `_`, leading and trailing `_` removed, cut to 63 characters. Neither → field "table".
 * - Columns follow property order; names are kept exactly and must pass the identifier
 *   rules (1-63 bytes, no NUL, no trailing whitespace) and differ from each other
 *   case-insensitively. A property schema `true`/`false` counts as `{}`; one that is
 *   not an object or boolean is refused. `$schema`, `additionalProperties` and
 *   unknown keywords are ignored. Nested objects are not expanded.
 * - Nullable: false when the property is in `required`, else true; but always true
 *   when `type` is an array holding "null", when `anyOf`/`oneOf` holds a `{"type":
 *   "null"}` branch, or with `nullable: true` (OpenAPI). A nullable `anyOf`/`oneOf` with
 *   exactly one other branch maps as that branch, merged with the outer keywords
 *   (outer wins); a type array with one non-null type maps as that type.
 * - Types, first match wins:
 *   - `$ref` → json.
 *   - integer → bigint when `format` is "int64" or any of minimum, maximum,
 *     exclusiveMinimum, exclusiveMaximum lies outside -2147483648..2147483647; else
 *     integer. smallint is never chosen.
 *   - number → decimal(18,k) when `multipleOf` is exactly 10^-k for k in 0..18
 *     (0.01 → decimal(18,2)); else double.
 *   - boolean → boolean.
 *   - string → binary when `contentEncoding` is "base64" or `format` is "byte" or
 *     "binary"; by `format`: date-time → timestamptz, date → date, time → time,
 *     uuid → uuid, email → varchar(320) (other formats, e.g. uri, are ignored); an
 *     `enum` of strings only → varchar(n), n the longest value in code points (at
 *     least 1); `maxLength` n in 1..16383 → varchar(n); else text.
 *   - no `type` and an `enum` of strings only → as a string enum.
 *   - anything else (object, array, several types, no type) → json.
 * - `default`: kept when its JSON type suits the column: boolean for boolean, safe
 *   integer for integer kinds, finite number for double/decimal, a string for text-like
 *   kinds (at most 65535 characters, no NUL, fitting varchar(n)); for json columns any
 *   value becomes its JSON.stringify text. Anything else, including null, is dropped.
 * - `description` → comment, cut to 1024 UTF-16 units without splitting a pair.
 * - `"x-unique": true` → unique. A unique or key column that would be text or binary becomes
 *   varchar(255) (MySQL cannot index those; a default longer than 255 is then dropped).
 * - Keys: properties with `"x-primary-key": true` are the key; without any, a property
 *   named exactly `id` is. A single key column is bigint auto_increment (default
 *   dropped) when its type is integer or it is untyped (none of type, enum, const,
 *   format, $ref, anyOf, oneOf, allOf); otherwise it keeps its mapped type (uuid for a
 *   uuid id). Several keys form a composite key of their mapped types, no
 *   auto_increment. Key columns are NOT NULL whatever `required` says; a json key is
 *   refused. With no key, `id bigint` primary key auto_increment is added first; a
 *   property named id in another case (ID) is then refused as a clash.
 * - At most 1000 columns, counting an added id.
 *
 * Field map form: `{ "name": "type" }`. Each type is a portable type (aliases allowed,
 * `native` refused), NOT NULL unless suffixed with `?`. The `table` argument is
 * required. Keys follow the `id` rule above with "integer or untyped" read as
 * "integer or bigint"; any `?` on a key is ignored.
 */
import { DbError } from '../../errors.js';
import { formatType, identifier, parseType, type ColumnInput, type TableInput } from './model.js';
import { isRecord } from '../sql.js';

type Json = Record<string, unknown>;

/** A column before keys are decided, with what the key rules need to know about its source. */
interface Field {
  column: ColumnInput;
  integer: boolean;
  untyped: boolean;
  explicitKey: boolean;
}

const MAX_COLUMNS = 1000;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const MAX_VARCHAR = 16_383;
const STRING_FORMATS = new Map([['date-time', 'timestamptz'], ['date', 'date'], ['time', 'time'], ['uuid', 'uuid'], ['email', 'varchar(320)']]);
const TYPE_KEYWORDS = ['type', 'enum', 'const', 'format', '$ref', 'anyOf', 'oneOf', 'allOf'];
const FORMS = 'a model is a JSON Schema object (with "properties" or "type": "object") or a field map of names to portable types, e.g. {"email": "varchar(320)", "age": "integer?"}';

const bad = (field: string, message: string): DbError => new DbError('INVALID_INPUT', message, { field });
const codePoints = (s: string): number => [...s].length;

/** Turns a JSON Schema or a field map into a portable table (see the rules above). Throws INVALID_INPUT. */
export function generateTable(model: unknown, table?: string): TableInput {
  if (isRecord(model) && (isRecord(model.properties) || model.type === 'object')) return fromJsonSchema(model, table);
  if (isRecord(model) && Object.values(model).every((v) => typeof v === 'string')) return fromFieldMap(model as Record<string, string>, table);
  throw bad('model', FORMS);
}

function tableName(table: string | undefined, title: unknown, missing: string): string {
  if (table !== undefined) {
    const r = identifier.safeParse(table);
    if (!r.success) throw bad('table', `table name "${table}": ${r.error.issues[0].message}`);
    return table;
  }
  if (typeof title === 'string') {
    const name = title.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+/, '').slice(0, 63).replace(/_+$/, '');
    if (name !== '') return name;
  }
  throw bad('table', missing);
}

function checkNames(names: string[], prefix: string): void {
  const seen = new Map<string, string>();
  for (const n of names) {
    const r = identifier.safeParse(n);
    if (!r.success) throw bad(`${prefix}.${n}`, `"${n}" is not a valid column name: ${r.error.issues[0].message}`);
    const other = seen.get(n.toLowerCase());
    // MySQL and SQLite compare column names case-insensitively, so these would collide.
    if (other !== undefined) throw bad(`${prefix}.${n}`, `"${other}" and "${n}" differ only in case; column names must differ case-insensitively`);
    seen.set(n.toLowerCase(), n);
  }
}

function fromJsonSchema(schema: Json, table?: string): TableInput {
  const name = tableName(table, schema.title, 'name the table: pass `table` or give the schema a "title"');
  const props = schema.properties ?? {};
  if (!isRecord(props)) throw bad('model.properties', '"properties" must be an object mapping names to property schemas');
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);
  checkNames(Object.keys(props), 'model.properties');
  const fields = Object.entries(props).map(([n, p]) => schemaField(n, p, required.has(n)));
  return finish(name, fields, 'model.properties');
}

function schemaField(name: string, raw: unknown, required: boolean): Field {
  if (!isRecord(raw) && typeof raw !== 'boolean') throw bad(`model.properties.${name}`, `property "${name}" must be a JSON Schema object`);
  const { schema, nullable } = unwrapNullable(isRecord(raw) ? raw : {});
  const type = mapType(schema);
  const column: ColumnInput = { name, type, nullable: nullable || !required };
  if (schema['x-unique'] === true) Object.assign(column, keyable(column), { unique: true });
  const value = defaultFor(schema.default, type);
  if (value !== undefined) column.default = value;
  const comment = commentOf(schema.description);
  if (comment !== undefined) column.comment = comment;
  return {
    column, integer: schema.type === 'integer', explicitKey: schema['x-primary-key'] === true,
    untyped: !TYPE_KEYWORDS.some((k) => Object.hasOwn(schema, k)),
  };
}

/** Strips the "or null" that zod (anyOf) and hand-written schemas (type arrays) use for optional values. */
function unwrapNullable(raw: Json): { schema: Json; nullable: boolean } {
  let schema = raw;
  let nullable = raw.nullable === true;
  const union = Array.isArray(raw.anyOf) ? 'anyOf' : Array.isArray(raw.oneOf) ? 'oneOf' : undefined;
  if (union) {
    const branches = raw[union] as unknown[];
    const rest = branches.filter((b) => !(isRecord(b) && b.type === 'null'));
    if (rest.length < branches.length) {
      nullable = true;
      if (rest.length === 1 && isRecord(rest[0])) {
        const { [union]: _, ...outer } = raw;
        schema = { ...rest[0], ...outer };
      }
    }
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    if (types.length < schema.type.length) nullable = true;
    schema = { ...schema, type: types.length === 1 ? types[0] : types };
  }
  return { schema, nullable };
}

function mapType(s: Json): string {
  if (s.$ref !== undefined) return 'json';
  switch (s.type) {
    case 'integer': return isBig(s) ? 'bigint' : 'integer';
    case 'number': return decimalOf(s.multipleOf) ?? 'double';
    case 'boolean': return 'boolean';
    case 'string': return stringType(s);
    case undefined: return stringEnum(s.enum) ?? 'json';
    default: return 'json';
  }
}

function isBig(s: Json): boolean {
  const bounds = [s.minimum, s.maximum, s.exclusiveMinimum, s.exclusiveMaximum];
  return s.format === 'int64' || bounds.some((b) => typeof b === 'number' && (b < INT32_MIN || b > INT32_MAX));
}

function decimalOf(step: unknown): string | undefined {
  if (typeof step !== 'number') return undefined;
  for (let k = 0; k <= 18; k++) if (Number(`1e-${k}`) === step) return `decimal(18,${k})`;
  return undefined;
}

function stringType(s: Json): string {
  if (s.contentEncoding === 'base64' || s.format === 'byte' || s.format === 'binary') return 'binary';
  const fixed = typeof s.format === 'string' ? STRING_FORMATS.get(s.format) : undefined;
  return fixed ?? stringEnum(s.enum) ?? varchar(s.maxLength) ?? 'text';
}

function stringEnum(values: unknown): string | undefined {
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) return undefined;
  return varchar(Math.max(1, ...values.map(codePoints))) ?? 'text';
}

function varchar(n: unknown): string | undefined {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return undefined;
  return n <= MAX_VARCHAR ? `varchar(${n})` : 'text';
}

/** Only defaults normalizeTable would accept for the mapped type survive: a generated table must never be refused. */
function defaultFor(value: unknown, type: string): string | number | boolean | undefined {
  if (value === undefined || value === null) return undefined;
  const kind = type.replace(/\(.*$/, '');
  if (kind === 'json') return textDefault(JSON.stringify(value));
  if (kind === 'boolean') return typeof value === 'boolean' ? value : undefined;
  if (kind === 'integer' || kind === 'bigint') return Number.isSafeInteger(value) ? (value as number) : undefined;
  if (kind === 'double' || kind === 'decimal') return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  if (kind === 'binary' || typeof value !== 'string') return undefined;
  const limit = kind === 'varchar' ? Number(/\d+/.exec(type)![0]) : Infinity;
  return codePoints(value) <= limit ? textDefault(value) : undefined;
}

function textDefault(text: string | undefined): string | undefined {
  return text !== undefined && text.length <= 65_535 && !text.includes('\u0000') ? text : undefined;
}

function commentOf(description: unknown): string | undefined {
  if (typeof description !== 'string' || description === '') return undefined;
  const cut = description.slice(0, 1024);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

function fromFieldMap(map: Record<string, string>, table?: string): TableInput {
  const name = tableName(table, undefined, 'a field map needs the `table` argument (or use a JSON Schema with a "title")');
  checkNames(Object.keys(map), 'model');
  return finish(name, Object.entries(map).map(([n, t]) => mapField(n, t)), 'model');
}

function mapField(name: string, written: string): Field {
  const field = `model.${name}`;
  const trimmed = written.trim();
  const nullable = trimmed.endsWith('?');
  const base = nullable ? trimmed.slice(0, -1) : trimmed;
  if (base.trim().toLowerCase() === 'native') throw bad(field, `field "${name}": a field map takes portable types only, not native`);
  let type: string;
  try {
    type = formatType(parseType(base, undefined, field));
  } catch (err) {
    throw err instanceof DbError ? new DbError(err.code, `field "${name}": ${err.message}`, err.details) : err;
  }
  return { column: { name, type, nullable }, integer: type === 'integer' || type === 'bigint', untyped: false, explicitKey: false };
}

function finish(table: string, fields: Field[], prefix: string): TableInput {
  const explicit = fields.filter((f) => f.explicitKey);
  const keys = explicit.length > 0 ? explicit : fields.filter((f) => f.column.name === 'id');
  const columns = fields.map((f) => (keys.includes(f) ? keyColumn(f, keys.length === 1, prefix) : f.column));
  if (keys.length === 0) {
    const clash = fields.find((f) => f.column.name.toLowerCase() === 'id');
    if (clash) throw bad(`${prefix}.${clash.column.name}`, `"${clash.column.name}" clashes with the "id" key column added when no key is given (names compare case-insensitively): name it "id" to make it the key`);
    columns.unshift({ name: 'id', type: 'bigint', nullable: false, primary_key: true, auto_increment: true });
  }
  if (columns.length > MAX_COLUMNS) throw bad(prefix, `at most ${MAX_COLUMNS} columns, counting an added id (${columns.length} here); group related fields into one json property`);
  return { table, columns };
}

function keyColumn(f: Field, single: boolean, prefix: string): ColumnInput {
  const { unique: _u, nullable: _n, ...column } = f.column;
  if (single && (f.integer || f.untyped)) {
    const { default: _d, ...rest } = column;
    return { ...rest, type: 'bigint', nullable: false, primary_key: true, auto_increment: true };
  }
  // json has no equality on PostgreSQL and no index on MySQL: such a key could never be created.
  if (column.type === 'json') throw bad(`${prefix}.${column.name}`, `key column "${column.name}" would be json: give it a scalar type`);
  return { ...keyable(column), nullable: false, primary_key: true };
}

/** MySQL cannot key text or binary columns: unbounded strings that become keys get varchar(255). */
function keyable(column: ColumnInput): ColumnInput {
  if (column.type === 'text') return { ...column, type: 'varchar(255)', ...(typeof column.default === 'string' && codePoints(column.default) > 255 ? { default: undefined } : {}) };
  if (column.type === 'binary') return { ...column, type: 'varchar(255)' };
  return column;
}
