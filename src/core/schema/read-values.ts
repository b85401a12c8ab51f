/**
 * Reading catalog text back into the portable schema: native type names to
 * portable types, and reported defaults to portable defaults. Pure functions,
 * one table per backend, so the mapping is testable and matches the DDL side.
 */
import { portableExpression } from './flavors.js';
import { canonicalDecimal, formatType, parseType, type Column, type DefaultValue, type FkAction, type TypeSpec } from './model.js';

/** A portable type when `text` names one exactly, else the native type. */
function tryPortable(text: string): TypeSpec | null {
  try {
    return parseType(text, undefined);
  } catch {
    return null;
  }
}

const native = (name: string): TypeSpec => ({ kind: 'native', native: name });

const PG_NAMES: Record<string, string> = {
  integer: 'integer', bigint: 'bigint', smallint: 'smallint', real: 'real', 'double precision': 'double', boolean: 'boolean',
  text: 'text', 'character varying': 'text', date: 'date', 'time without time zone': 'time', 'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz', uuid: 'uuid', jsonb: 'json', json: 'json', bytea: 'binary',
};

/** From format_type(): 'character varying(20)', 'numeric(12,2)', 'timestamp with time zone' ... */
export function pgType(formatted: string): TypeSpec {
  if (Object.hasOwn(PG_NAMES, formatted)) return parseType(PG_NAMES[formatted], undefined);
  const m = /^(numeric|character varying|character)\((\d+)(?:,(\d+))?\)$/.exec(formatted);
  if (m) {
    const base = { numeric: 'decimal', 'character varying': 'varchar', character: 'char' }[m[1]]!;
    return tryPortable(`${base}(${m[2]}${m[3] !== undefined ? `,${m[3]}` : ''})`) ?? native(formatted);
  }
  return native(formatted);
}

const MYSQL_SIMPLE: Record<string, string> = {
  int: 'integer', bigint: 'bigint', smallint: 'smallint', double: 'double', date: 'date', time: 'time', datetime: 'timestamp',
  timestamp: 'timestamptz', uuid: 'uuid', json: 'json', tinytext: 'text', text: 'text', mediumtext: 'text', longtext: 'text',
  tinyblob: 'binary', blob: 'binary', mediumblob: 'binary', longblob: 'binary',
};

/**
 * From information_schema DATA_TYPE and COLUMN_TYPE ('int(11)', 'tinyint(1)', 'decimal(10,2)', 'int(10) unsigned').
 * A native type keeps COLUMN_TYPE as the server wrote it: ENUM and SET labels are case-sensitive
 * data (`enum('G','PG')`), and a lower-cased copy would rewrite every row when used in DDL.
 */
export function mysqlType(dataType: string, columnType: string, jsonChecked: boolean): TypeSpec {
  const dt = dataType.toLowerCase();
  const ct = columnType.toLowerCase();
  const asIs = native(columnType.trim());
  if (/unsigned|zerofill/.test(ct)) return asIs;
  if (dt === 'longtext' && jsonChecked) return { kind: 'json' };
  if (dt === 'tinyint') return ct === 'tinyint(1)' ? { kind: 'boolean' } : asIs;
  if (dt === 'float') return ct === 'float' ? { kind: 'real' } : asIs;
  // TIME / DATETIME / TIMESTAMP carry their fractional precision; every precision reads as the same kind.
  if (['time', 'datetime', 'timestamp'].includes(dt) && /^\w+(\(\d\))?$/.test(ct)) return parseType(MYSQL_SIMPLE[dt], undefined);
  if (['decimal', 'varchar', 'char'].includes(dt)) return tryPortable(ct) ?? asIs;
  if (Object.hasOwn(MYSQL_SIMPLE, dt) && (ct === dt || /^(int|bigint|smallint)\(\d+\)$/.test(ct))) return parseType(MYSQL_SIMPLE[dt], undefined);
  return asIs;
}

const SQLITE_SIMPLE: Record<string, string> = {
  INT: 'integer', INTEGER: 'integer', BIGINT: 'bigint', SMALLINT: 'smallint', REAL: 'real', DOUBLE: 'double', 'DOUBLE PRECISION': 'double',
  BOOLEAN: 'boolean', TEXT: 'text', DATE: 'date', TIME: 'time', TIMESTAMP: 'timestamp', DATETIME: 'timestamp', TIMESTAMPTZ: 'timestamptz',
  UUID: 'uuid', JSON: 'json', BLOB: 'binary',
};

/** From the declared type (any text SQLite kept); `rowidAlias` marks the INTEGER PRIMARY KEY. */
export function sqliteType(declared: string, jsonChecked: boolean, rowidAlias: boolean): TypeSpec {
  const d = declared.trim().toUpperCase().replace(/\s+/g, ' ');
  if (rowidAlias) return { kind: 'bigint' };
  if (jsonChecked && d === 'TEXT') return { kind: 'json' };
  if (Object.hasOwn(SQLITE_SIMPLE, d)) return parseType(SQLITE_SIMPLE[d], undefined);
  if (/^(DECIMAL|NUMERIC|VARCHAR|CHAR)\s*\(\s*\d+\s*(,\s*\d+\s*)?\)$/.test(d)) return tryPortable(d) ?? native(declared);
  return native(declared);
}

/** A quoted literal as the catalog reports it: 'it''s' (PostgreSQL adds ::type). */
function unquote(text: string, backslashes: boolean): string | null {
  const m = /^'((?:[^']|'')*)'(::[\w\s."[\]()]+)?$/s.exec(text.trim());
  if (!m) return null;
  const inner = m[1].replace(/''/g, "'");
  return backslashes ? inner.replace(/\\(.)/gs, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\u0000' }[c] ?? c)) : inner;
}

/** A literal typed by its column: true/false for booleans, numbers where exact, strings otherwise. */
function typed(text: string, spec: TypeSpec): DefaultValue {
  const k = spec.kind;
  if (k === 'boolean') return /^(true|1|b'1')$/i.test(text) ? true : /^(false|0|b'0')$/i.test(text) ? false : text;
  if (spec.kind === 'decimal') return canonicalDecimal(text, spec.scale);
  if (['integer', 'bigint', 'smallint', 'real', 'double'].includes(k) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) {
    const n = Number(text);
    return String(n) === text || (Number.isSafeInteger(n) && /^-?\d+$/.test(text)) ? n : text;
  }
  return text;
}

export interface DefaultRead {
  value: DefaultValue;
  /** The default is a sequence (serial): the column is auto-assigned. */
  sequence: boolean;
}

/**
 * A column default as reported by the catalog. `mysqlLiteralsUnquoted`: MySQL 8
 * reports string literals bare and marks expressions DEFAULT_GENERATED; MariaDB
 * quotes literals.
 */
export function readDefault(raw: string | null, spec: TypeSpec, backend: 'postgres' | 'mysql' | 'sqlite', mysqlExpression?: boolean): DefaultRead {
  if (raw === null || raw === undefined) return { value: null, sequence: false };
  const text = raw.trim();
  if (backend === 'postgres' && /^nextval\(/i.test(text)) return { value: null, sequence: true };
  // PostgreSQL prints DEFAULT NULL on a typed column as NULL::character varying.
  if (/^null(::[\w\s".[\]()]+)?$/i.test(text) && backend !== 'mysql') return { value: null, sequence: false };
  if (backend === 'mysql' && mysqlExpression === false) return { value: typed(text, spec), sequence: false };
  if (backend === 'mysql' && text === 'NULL') return { value: null, sequence: false };
  const literal = unquote(text, backend === 'mysql');
  if (literal !== null) return { value: typed(literal, spec), sequence: false };
  const expr = portableExpression(text);
  if (expr) return { value: { sql: expr }, sequence: false };
  const bare = text.replace(/^\((-?[\d.]+)\)$/, '$1');
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(bare) || /^(true|false)$/i.test(bare)) return { value: typed(bare, spec), sequence: false };
  return { value: { sql: text }, sequence: false };
}

const ACTIONS: Record<string, FkAction> = {
  a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default',
  'NO ACTION': 'no action', RESTRICT: 'restrict', CASCADE: 'cascade', 'SET NULL': 'set null', 'SET DEFAULT': 'set default',
};

export const fkAction = (code: string | null | undefined): FkAction => {
  const c = code ?? 'a';
  return Object.hasOwn(ACTIONS, c) ? ACTIONS[c] : Object.hasOwn(ACTIONS, c.toUpperCase()) ? ACTIONS[c.toUpperCase()] : 'no action';
};

/** The portable column from what every backend's reader found. */
export function makeColumn(name: string, spec: TypeSpec, fields: Omit<Column, 'name' | 'type' | 'native'>): Column {
  return spec.kind === 'native' ? { name, type: 'native', native: spec.native, ...fields } : { name, type: formatType(spec), ...fields };
}
