/**
 * The messages between a SQLite dialect (dialect.ts) and its host process (host.ts),
 * over IPC with `serialization: 'advanced'` (Buffers and bigints cross intact).
 * Requests `{ id, op, ... }` are handled one at a time, in order; every request gets
 * exactly one reply `{ id, ok: true, result }` or `{ id, ok: false, error }`.
 * Types only: importing this file loads nothing.
 */
import type { ErrorCode } from '../../../errors.js';
import type { Statement } from '../../dialect.js';

/** Per-call limits, copied from ExecOptions (a signal cannot cross processes). */
export interface HostLimits {
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
}

export type HostRequest =
  | { id: number; op: 'open'; file: string; readOnly: boolean; busyTimeoutMs: number }
  | { id: number; op: 'info' }
  | { id: number; op: 'execute'; stmt: Statement; limits: HostLimits }
  | { id: number; op: 'transaction'; stmts: Statement[]; limits: HostLimits; /** ROLLBACK at the end, whatever the connection. */ rollback: boolean }
  | { id: number; op: 'batch'; stmts: Statement[]; limits: HostLimits }
  | { id: number; op: 'iterate'; text: string; batchRows: number }
  | { id: number; op: 'next' }
  | { id: number; op: 'insert'; text: string; rows: unknown[][] }
  | { id: number; op: 'backup'; dest: string; count: string[] }
  | { id: number; op: 'checkpoint' }
  | { id: number; op: 'freeze'; count: string[] }
  | { id: number; op: 'takeover' }
  | { id: number; op: 'release' }
  | { id: number; op: 'close' };

/** One request of the given op. */
export type HostRequestOf<Op extends HostRequest['op']> = Extract<HostRequest, { op: Op }>;

/** A request as the dialect writes it: the host process numbers it. */
export type RequestBody = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** What `takeover` found: the database is ours alone and locked, or why not (nothing changed then). */
export type HostTakeover = { ok: true; pageSize: number; pages: number } | { ok: false; reason: string };

/** What `freeze` found: the row counts, and the database file's length when it holds the session's snapshot unchanged until the snapshot ends. */
export interface HostFreeze {
  rows: number[];
  image: { bytes: number; wal: boolean; dev: number; ino: number } | null;
}

/** A batch of an iteration (`iterate`, then `next` until `done`). */
export interface HostRows {
  rows: unknown[][];
  done: boolean;
}

/** A DbError as it crosses the process boundary (DbError.toJSON()). */
export interface WireError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

export type HostReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

export interface HostInfo {
  sqlite_version: string;
}
