/**
 * MySQL / MariaDB errno and mysql2's own codes -> our codes, in one table.
 */
import { DbError, fileSystemError, type ErrorCode } from '../../../errors.js';

const BY_ERRNO: Record<number, ErrorCode> = {
  1044: 'AUTH_FAILED', 1045: 'AUTH_FAILED', 1049: 'CONNECTION_FAILED', 1698: 'AUTH_FAILED',
  1064: 'SYNTAX_ERROR', 1149: 'SYNTAX_ERROR',
  1146: 'UNDEFINED_OBJECT', 1054: 'UNDEFINED_OBJECT', 1305: 'UNDEFINED_OBJECT', 1051: 'UNDEFINED_OBJECT',
  1091: 'UNDEFINED_OBJECT', 1176: 'UNDEFINED_OBJECT', 1327: 'UNDEFINED_OBJECT',
  1050: 'DUPLICATE_OBJECT', 1060: 'DUPLICATE_OBJECT', 1061: 'DUPLICATE_OBJECT', 1007: 'DUPLICATE_OBJECT',
  // A routine, trigger, event or loadable function of that name exists already.
  1304: 'DUPLICATE_OBJECT', 1359: 'DUPLICATE_OBJECT', 1537: 'DUPLICATE_OBJECT', 1125: 'DUPLICATE_OBJECT',
  1062: 'CONSTRAINT_VIOLATION', 1451: 'CONSTRAINT_VIOLATION', 1452: 'CONSTRAINT_VIOLATION',
  1048: 'CONSTRAINT_VIOLATION', 1364: 'CONSTRAINT_VIOLATION', 3819: 'CONSTRAINT_VIOLATION',
  4025: 'CONSTRAINT_VIOLATION', 1216: 'CONSTRAINT_VIOLATION', 1217: 'CONSTRAINT_VIOLATION',
  1067: 'DATA_ERROR', 1300: 'DATA_ERROR', 1553: 'CONSTRAINT_VIOLATION', 1832: 'CONSTRAINT_VIOLATION', 1907: 'UNSUPPORTED', 1071: 'UNSUPPORTED', 1170: 'UNSUPPORTED', 1005: 'CONSTRAINT_VIOLATION', 1215: 'CONSTRAINT_VIOLATION', 1828: 'CONSTRAINT_VIOLATION',
  1264: 'DATA_ERROR', 1265: 'DATA_ERROR', 1366: 'DATA_ERROR', 1292: 'DATA_ERROR', 1406: 'DATA_ERROR',
  1365: 'DATA_ERROR', 1367: 'DATA_ERROR', 3140: 'DATA_ERROR', 4038: 'DATA_ERROR',
  1142: 'PERMISSION_DENIED', 1143: 'PERMISSION_DENIED', 1227: 'PERMISSION_DENIED', 1370: 'PERMISSION_DENIED',
  1792: 'READ_ONLY_VIOLATION', 1290: 'READ_ONLY_VIOLATION', 1836: 'READ_ONLY_VIOLATION',
  1213: 'DEADLOCK', 1205: 'BUSY', 1040: 'BUSY', 1203: 'BUSY',
  1317: 'CANCELLED', 1969: 'TIMEOUT', 3024: 'TIMEOUT',
  2006: 'CONNECTION_LOST', 2013: 'CONNECTION_LOST', 1927: 'CONNECTION_LOST', 1053: 'CONNECTION_LOST',
  1235: 'UNSUPPORTED', 1295: 'UNSUPPORTED', 4165: 'UNSUPPORTED',
  1180: 'TRANSACTION_FAILED',
  1021: 'NO_SPACE',
  // Limits on a statement's work: max_recursive_iterations (1931 is its "interrupted"
  // errno), cte_max_recursion_depth (MySQL 3636), thread stack overrun (1436), nesting
  // depth (1473), and max_sp_recursion_depth (1456).
  1931: 'LIMIT_EXCEEDED', 3636: 'LIMIT_EXCEEDED', 1436: 'LIMIT_EXCEEDED', 1473: 'LIMIT_EXCEEDED', 1456: 'LIMIT_EXCEEDED',
};

const BY_DRIVER_CODE: Record<string, ErrorCode> = {
  PROTOCOL_CONNECTION_LOST: 'CONNECTION_LOST',
  PROTOCOL_SEQUENCE_TIMEOUT: 'CONNECTION_LOST',
  ECONNRESET: 'CONNECTION_LOST',
  EPIPE: 'CONNECTION_LOST',
  ECONNREFUSED: 'CONNECTION_FAILED',
  ETIMEDOUT: 'CONNECTION_FAILED',
  ENOTFOUND: 'CONNECTION_FAILED',
  EAI_AGAIN: 'CONNECTION_FAILED',
  ER_CON_COUNT_ERROR: 'BUSY',
  HANDSHAKE_NO_SSL_SUPPORT: 'CONNECTION_FAILED',
};

interface MysqlLikeError {
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  message?: string;
  /** mysql2: the connection cannot be used any more. */
  fatal?: boolean;
}

/** mysql2's refusals on a connection that has already died: no code, `fatal`, "… in closed state". */
const closedConnection = (e: MysqlLikeError, raw: string): boolean => e.fatal === true && e.errno === undefined && /in closed state/.test(raw);

/**
 * Galera's errors say little by themselves ("Galera replication not supported", a deadlock
 * that is another node's commit): what they mean, and what to do, by errno.
 */
const GALERA: Record<number, { code?: ErrorCode; say: (message: string) => string }> = {
  // ER_UNKNOWN_COM_ERROR, which Galera uses for "WSREP has not yet prepared node for application use".
  1047: {
    code: 'CONNECTION_FAILED',
    say: () => 'this Galera node does not take queries now (wsrep_ready is OFF: it is not in the primary component of its cluster, or is still joining); use another node, or wait until it is Synced (get_connection shows its state)',
  },
  4165: {
    say: (m) => `${m}: the Galera cluster refuses what it cannot replicate; with wsrep_mode=REQUIRED_PRIMARY_KEY every table needs a primary key, with STRICT_REPLICATION every table must be InnoDB`,
  },
  1213: {
    say: (m) => `${m} (the transaction was rolled back; on a Galera cluster this is also how a write loses to a conflicting write committed first on another node: run the transaction again)`,
  },
};

/**
 * InnoDB checks the unique keys of rows loaded into an empty table at COMMIT (MariaDB's bulk
 * insert), and a duplicate there says only "Got error 1 "Operation not permitted" during
 * COMMIT" (1180): what it means, and the usual cause in a restore from another backend.
 */
function bulkDuplicate(e: MysqlLikeError, message: string): { code: ErrorCode; message: string } | null {
  if (e.errno !== 1180 || !/Got error 1 "Operation not permitted"/.test(message)) return null;
  return {
    code: 'CONSTRAINT_VIOLATION',
    message: `${message}: a primary or unique key got one value twice, as this server compares it (its default collations ignore case and trailing spaces, so 'b' and 'B', or 'x' and 'x ', are one key); rows loaded into an empty table are checked when they are committed`,
  };
}

function galeraError(e: MysqlLikeError, message: string): { code?: ErrorCode; message: string } | null {
  const g = e.errno === undefined ? undefined : GALERA[e.errno];
  if (!g || (e.errno === 1047 && !/WSREP/i.test(message))) return null;
  return { code: g.code, message: g.say(message) };
}

export function fromMysqlError(err: unknown): DbError {
  if (err instanceof DbError) return err;
  const fsError = fileSystemError(err);
  if (fsError) return fsError;
  const e = (err ?? {}) as MysqlLikeError;
  const raw = e.sqlMessage || e.message || String(err);
  // Errors whose text says little by itself, explained.
  const explained = galeraError(e, raw) ?? bulkDuplicate(e, raw);
  const message = explained?.message ?? raw;
  const code: ErrorCode = explained?.code ?? (e.errno !== undefined ? BY_ERRNO[e.errno] : undefined)
    ?? (e.code ? BY_DRIVER_CODE[e.code] : undefined)
    ?? (closedConnection(e, raw) ? 'CONNECTION_LOST' : undefined)
    ?? (e.sqlState?.startsWith('23') ? 'CONSTRAINT_VIOLATION' : e.sqlState?.startsWith('22') ? 'DATA_ERROR' : 'INTERNAL');
  const details: Record<string, unknown> = {};
  if (e.errno !== undefined) details.errno = e.errno;
  if (e.sqlState) details.sqlstate = e.sqlState;
  if (e.code) details.driver_code = e.code;
  if (e.errno === 1047 && explained) details.cause = 'node_not_ready';
  return new DbError(code, message, details, { cause: err });
}
