/**
 * PostgreSQL and postgres.js errors -> our codes. One table, SQLSTATE exact
 * matches first, then two-character classes, then postgres.js' own codes.
 */
import { DbError, fileSystemError, type ErrorCode } from '../../../errors.js';

const BY_SQLSTATE: Record<string, ErrorCode> = {
  '28000': 'AUTH_FAILED',
  '28P01': 'AUTH_FAILED',
  '3D000': 'CONNECTION_FAILED',
  '42601': 'SYNTAX_ERROR',
  '42P01': 'UNDEFINED_OBJECT',
  '42703': 'UNDEFINED_OBJECT',
  '42883': 'UNDEFINED_OBJECT',
  '42704': 'UNDEFINED_OBJECT',
  '3F000': 'UNDEFINED_OBJECT',
  '42P07': 'DUPLICATE_OBJECT',
  '42710': 'DUPLICATE_OBJECT',
  '42P06': 'DUPLICATE_OBJECT',
  '42723': 'DUPLICATE_OBJECT',
  '42P04': 'DUPLICATE_OBJECT',
  '42501': 'PERMISSION_DENIED',
  '25006': 'READ_ONLY_VIOLATION',
  '40P01': 'DEADLOCK',
  '40001': 'TRANSACTION_FAILED',
  '25P02': 'TRANSACTION_FAILED',
  '57P01': 'CONNECTION_LOST',
  '57P02': 'CONNECTION_LOST',
  '57P03': 'CONNECTION_FAILED',
  '53300': 'BUSY',
  '53100': 'NO_SPACE',
  '55P03': 'BUSY',
  '42P18': 'INVALID_INPUT',
  '0A000': 'UNSUPPORTED',
  // Other objects depend on it (a column a foreign key or view uses).
  '2BP01': 'CONSTRAINT_VIOLATION',
  // A foreign key with no unique key to reference: a definition error, as MySQL's 1005/1215 are.
  '42830': 'CONSTRAINT_VIOLATION',
  '42701': 'DUPLICATE_OBJECT',
  '42712': 'DUPLICATE_OBJECT',
  '42804': 'DATA_ERROR',
  // Program limits: stack depth (deep recursion in functions or expressions), statement too
  // complex, too many columns or arguments. Class 54 as a whole below.
  '54001': 'LIMIT_EXCEEDED',
  '54000': 'LIMIT_EXCEEDED',
};

const BY_CLASS: Record<string, ErrorCode> = {
  '08': 'CONNECTION_LOST',
  '22': 'DATA_ERROR',
  '23': 'CONSTRAINT_VIOLATION',
  '42': 'SYNTAX_ERROR',
  '53': 'BUSY',
  '54': 'LIMIT_EXCEEDED',
};

const BY_DRIVER_CODE: Record<string, ErrorCode> = {
  CONNECTION_CLOSED: 'CONNECTION_LOST',
  CONNECTION_DESTROYED: 'CONNECTION_LOST',
  CONNECTION_ENDED: 'CONNECTION_LOST',
  CONNECT_TIMEOUT: 'CONNECTION_FAILED',
  ECONNREFUSED: 'CONNECTION_FAILED',
  ECONNRESET: 'CONNECTION_LOST',
  ENOTFOUND: 'CONNECTION_FAILED',
  EAI_AGAIN: 'CONNECTION_FAILED',
  ETIMEDOUT: 'CONNECTION_FAILED',
  SASL_SIGNATURE_MISMATCH: 'AUTH_FAILED',
  AUTH_TYPE_NOT_IMPLEMENTED: 'AUTH_FAILED',
};

/** Fields of a PostgresError that are safe to show: none of them holds a secret. */
const SAFE_FIELDS = ['detail', 'hint', 'position', 'schema_name', 'table_name', 'column_name', 'constraint_name'] as const;

interface PgLikeError {
  code?: string;
  message?: string;
  [field: string]: unknown;
}

export function classifyPgCode(code: string | undefined, message: string): ErrorCode {
  if (!code) return 'INTERNAL';
  if (code === '57014') return /statement timeout/i.test(message) ? 'TIMEOUT' : 'CANCELLED';
  return BY_SQLSTATE[code] ?? BY_DRIVER_CODE[code] ?? BY_CLASS[code.slice(0, 2)] ?? 'INTERNAL';
}

export function fromPgError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  const fsError = fileSystemError(err);
  if (fsError) return fsError;
  const e = (err ?? {}) as PgLikeError;
  const raw = typeof e.message === 'string' && e.message ? e.message : String(err);
  const code = classifyPgCode(e.code, raw);
  // postgres.js' own connection errors read like "write CONNECTION_CLOSED host:port".
  const message = e.code && e.code in BY_DRIVER_CODE && code === 'CONNECTION_LOST' ? `the connection to the database was lost (${e.code})` : raw;
  const details: Record<string, unknown> = {};
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) details.sqlstate = e.code;
  else if (e.code) details.driver_code = e.code;
  for (const f of SAFE_FIELDS) if (e[f] !== undefined) details[f] = e[f];
  if (typeof details.position === 'string') details.position = Number(details.position);
  return new DbError(code, message, details, { cause: err });
}
