/**
 * SQLite and better-sqlite3 errors -> our codes, in one table. Runs in the host
 * process (it loads better-sqlite3); its DbErrors cross to the dialect as they are.
 */
import Database from 'better-sqlite3';
import { DbError, type ErrorCode } from '../../../errors.js';

/**
 * SQLite result codes (extended codes included, hence prefixes) -> our codes.
 * First match wins; a `message` narrows the generic SQLITE_ERROR.
 */
const SQLITE_ERROR_TABLE: ReadonlyArray<{ code: RegExp; message?: RegExp; to: ErrorCode }> = [
  { code: /^SQLITE_CONSTRAINT/, to: 'CONSTRAINT_VIOLATION' },
  { code: /^SQLITE_ERROR$/, message: /no such (table|column|index|view|function|collation|module|trigger|savepoint)/i, to: 'UNDEFINED_OBJECT' },
  { code: /^SQLITE_ERROR$/, message: /syntax error|incomplete input|unrecognized token/i, to: 'SYNTAX_ERROR' },
  { code: /^SQLITE_ERROR$/, message: /already exists/i, to: 'DUPLICATE_OBJECT' },
  // CREATE TABLE sqlite_master, sqlite_x ...: the name is the caller's mistake, not ours.
  { code: /^SQLITE_ERROR$/, message: /reserved for internal use/i, to: 'INVALID_INPUT' },
  // Mistakes in the statement itself, found while SQLite compiles it.
  { code: /^SQLITE_ERROR$/, message: /ambiguous column name|misuse of (aggregate|window)|wrong number of arguments|too many arguments|no tables specified|near ".*"|SELECTs to the left and right/i, to: 'SYNTAX_ERROR' },
  { code: /^SQLITE_READONLY/, to: 'READ_ONLY_VIOLATION' },
  { code: /^SQLITE_(BUSY|LOCKED)/, to: 'BUSY' },
  { code: /^SQLITE_(CANTOPEN|NOTADB)/, to: 'CONNECTION_FAILED' },
  // Compile-time limits: expression depth, compound SELECT terms, trigger recursion, the parser's stack, LIKE pattern length.
  { code: /^SQLITE_ERROR$/, message: /too large \(maximum depth|too many terms in compound SELECT|too many levels of trigger recursion|parser stack overflow|too many (columns|arguments|attached)|pattern too complex|LIKE or GLOB pattern too complex/i, to: 'LIMIT_EXCEEDED' },
  { code: /^SQLITE_TOOBIG/, to: 'LIMIT_EXCEEDED' },
  { code: /^SQLITE_(MISMATCH|RANGE)/, to: 'DATA_ERROR' },
  { code: /^SQLITE_FULL/, to: 'NO_SPACE' },
];

/** better-sqlite3 reports bad parameters and multi-statement strings as TypeError/RangeError. */
const DRIVER_INPUT_ERROR = /parameter|can only bind|SQL string|BigInt/i;

export function toDbError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  if (err instanceof Database.SqliteError) {
    const rule = SQLITE_ERROR_TABLE.find((r) => r.code.test(err.code) && (!r.message || r.message.test(err.message)));
    return new DbError(rule?.to ?? 'INTERNAL', err.message, { sqlite_code: err.code }, { cause: err });
  }
  if ((err instanceof TypeError || err instanceof RangeError) && DRIVER_INPUT_ERROR.test(err.message)) {
    return new DbError('INVALID_INPUT', err.message, {}, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DbError('INTERNAL', message || 'internal error in the SQLite host', {}, { cause: err });
}
