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
  'LIMIT_EXCEEDED',
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

/**
 * File-system errors under a file the server writes or reads (a backup, a migration file,
 * their directories): expected conditions the operator can act on, so each has a stable
 * code and `details.cause`, never INTERNAL. The path is the server's own configuration
 * (backup_dir, migrations_dir), not a secret.
 */
const FS_ERRORS: Record<string, { code: ErrorCode; cause: string; say: string; advice: string }> = {
  ENOSPC: { code: 'NO_SPACE', cause: 'no_space', say: 'no space left on the device', advice: 'free some space and try again' },
  EDQUOT: { code: 'NO_SPACE', cause: 'quota', say: 'no space left on the device', advice: 'free some space and try again' },
  EROFS: { code: 'PERMISSION_DENIED', cause: 'read_only_file_system', say: 'the file system is mounted read-only', advice: 'point the directory at a writable file system' },
  EACCES: { code: 'PERMISSION_DENIED', cause: 'permission', say: "the server's user has no permission", advice: "grant the server's user access to the directory, or choose another" },
  EPERM: { code: 'PERMISSION_DENIED', cause: 'permission', say: 'the operation is not permitted', advice: "grant the server's user access to the directory, or choose another" },
  ENOTDIR: { code: 'INVALID_INPUT', cause: 'not_a_directory', say: 'a component of the path is not a directory', advice: 'fix the configured path' },
  ELOOP: { code: 'INVALID_INPUT', cause: 'symlink_loop', say: 'the path runs into a loop of symbolic links', advice: 'fix the configured path' },
  ENAMETOOLONG: { code: 'INVALID_INPUT', cause: 'name_too_long', say: 'a name in the path is too long for the file system', advice: 'choose a shorter path' },
};

/** mkdir's EEXIST: a file or a dangling symbolic link stands where the directory should be (other EEXISTs are the callers'). */
const MKDIR_EXISTS = { code: 'INVALID_INPUT' as ErrorCode, cause: 'not_a_directory', say: 'a file or a dangling symbolic link stands where the directory should be', advice: 'fix the configured path' };

/**
 * A DbError for a file-system error (ENOSPC, EROFS, EACCES…); null for any other error.
 * The drivers' error mappers ask this first, because a backup's file write fails inside their sessions.
 */
export function fileSystemError(err: unknown): DbError | null {
  const sys = err as NodeJS.ErrnoException | null;
  const known = sys && typeof sys.code === 'string'
    ? (sys.code === 'EEXIST' && sys.syscall === 'mkdir' ? MKDIR_EXISTS : FS_ERRORS[sys.code])
    : undefined;
  if (!known || !sys) return null;
  const during = sys.syscall ? ` during ${sys.syscall}` : '';
  const where = sys.path ? ` of ${sys.path}` : '';
  const details = { errno: sys.code, cause: known.cause, ...(sys.syscall ? { syscall: sys.syscall } : {}), ...(sys.path ? { path: sys.path } : {}) };
  return new DbError(known.code, `${known.say} (${sys.code}${during}${where}): ${known.advice}`, details, { cause: err });
}

/** Anything thrown that is not already a DbError is an internal fault (file-system conditions aside): keep its message, hide its stack. */
export function asDbError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  const fsError = fileSystemError(err);
  if (fsError) return fsError;
  const message = err instanceof Error ? err.message : String(err);
  return new DbError('INTERNAL', message || 'internal error', {}, { cause: err });
}
