/**
 * The one error type that crosses module boundaries. Drivers' errors become a
 * DbError inside their dialect; tools turn a DbError into an `isError` result.
 * Codes are part of the public contract (SPEC.md): never rename one.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'CONNECTION_NOT_FOUND',
  'CONNECTION_FAILED',
  'CONNECTION_LOST',
  'AUTH_FAILED',
  'SYNTAX_ERROR',
  'UNDEFINED_OBJECT',
  'DUPLICATE_OBJECT',
  'CONSTRAINT_VIOLATION',
  'DATA_ERROR',
  'PERMISSION_DENIED',
  'READ_ONLY_VIOLATION',
  'TRANSACTION_FAILED',
  'DEADLOCK',
  'TIMEOUT',
  'CANCELLED',
  'BUSY',
  'RESULT_TOO_LARGE',
  'TOO_COMPLEX',
  'UNSUPPORTED',
  'MIGRATION_BLOCKED',
  'MIGRATION_FAILED',
  'BACKUP_CORRUPT',
  'NO_SPACE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

export class DbError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbError';
    this.code = code;
    this.details = details;
  }

  /** Same error with more details merged in (e.g. the failing statement's index). */
  withDetails(extra: ErrorDetails): DbError {
    return new DbError(this.code, this.message, { ...this.details, ...extra }, { cause: this.cause });
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isDbError(err: unknown): err is DbError {
  return err instanceof DbError;
}

/** File-system errors that mean the disk (or the user's quota) is full. */
const NO_SPACE_ERRNO = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A full disk under a file the server writes (a backup, a migration file): the operator
 * can act on it, so it keeps a code of its own. Null for any other error. The dialects'
 * mappers ask first, because a backup's file write fails inside their sessions.
 */
export function noSpaceError(err: unknown): DbError | null {
  const sys = err as NodeJS.ErrnoException | null;
  if (!sys || typeof sys.code !== 'string' || !NO_SPACE_ERRNO.has(sys.code)) return null;
  const during = sys.syscall ? ` during ${sys.syscall}` : '';
  return new DbError('NO_SPACE', `no space left on the device (${sys.code}${during}): free some space and try again`, { errno: sys.code, ...(sys.syscall ? { syscall: sys.syscall } : {}) }, { cause: err });
}

/** Anything thrown that is not already a DbError is an internal fault (a full disk aside): keep its message, hide its stack. */
export function asDbError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  const full = noSpaceError(err);
  if (full) return full;
  const message = err instanceof Error ? err.message : String(err);
  return new DbError('INTERNAL', message || 'internal error', {}, { cause: err });
}
