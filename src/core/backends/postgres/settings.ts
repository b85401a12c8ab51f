/**
 * The settings a PostgreSQL call runs under, set inside the transaction that runs it
 * (`set_config(…, true)`, SET LOCAL's function form) and gone at its end. Never as
 * startup parameters: a stock PgBouncer refuses every one it does not track
 * (statement_timeout, IntervalStyle …: 08P01 "unsupported startup parameter"); and never
 * session-wide on a connection a transaction pooler shares: the next transaction, ours or
 * another client's, may run on that server connection, or ours on another one.
 *
 * PgBouncer tracks TimeZone, DateStyle, standard_conforming_strings, client_encoding and
 * application_name itself (it sets them on whichever server connection it hands out), so
 * those stay startup parameters (pool.ts).
 */

/** Interval values reach JSON as ISO 8601 durations (SPEC §5): the parsers need this style. */
const INTERVAL_STYLE = 'iso_8601';

/** A string literal for the simple protocol (standard_conforming_strings is pinned on). */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const millis = (ms: number): string => String(Math.max(1, Math.floor(ms)));

/**
 * One SELECT that sets the call's statement timeout and interval style (and `extra`, e.g.
 * the read-only guard's role) until the end of the current transaction.
 */
export function localSettings(timeoutMs: number, extra: ReadonlyArray<readonly [string, string]> = []): string {
  return `select ${localSettingCalls(timeoutMs, extra)}`;
}

function localSettingCalls(timeoutMs: number, extra: ReadonlyArray<readonly [string, string]> = []): string {
  const pairs: Array<readonly [string, string]> = [...extra, ['statement_timeout', millis(timeoutMs)], ['IntervalStyle', INTERVAL_STYLE]];
  return pairs.map(([name, value]) => `set_config(${literal(name)}, ${literal(value)}, true)`).join(', ');
}

/** `begin` (or `begin read only`, `begin isolation level …`) and the call's settings, in one round trip (simple protocol). */
export function beginWith(begin: string, timeoutMs: number, extra?: ReadonlyArray<readonly [string, string]>): string {
  return `${begin}; ${localSettings(timeoutMs, extra)}`;
}

/**
 * `begin` and the call's settings as utility statements (SET LOCAL), for a call that needs
 * nothing else in its BEGIN: PostgreSQL runs them without planning, where the SELECT of
 * beginWith costs the server about 35 µs a call (bench/RESULTS.md). A read-only call keeps
 * beginWith: its SELECT takes the transaction's first snapshot (guard.ts).
 */
export function beginPlain(timeoutMs: number): string {
  return `begin; set local statement_timeout = ${millis(timeoutMs)}; set local intervalstyle = ${literal(INTERVAL_STYLE)}`;
}

/**
 * The same settings for a whole session, for a pinned connection no pooler shares (its
 * lease ends with DISCARD ALL, which resets them).
 */
export function sessionSettings(timeoutMs: number): string {
  return `select set_config('statement_timeout', ${literal(millis(timeoutMs))}, false), set_config('IntervalStyle', ${literal(INTERVAL_STYLE)}, false)`;
}

/**
 * Everything DISCARD ALL undoes, in statements PostgreSQL 15 allows inside a transaction
 * block (DISCARD ALL itself is refused there): cursors, SET SESSION AUTHORIZATION, SET and
 * set_config(…, false) (RESET ALL, role included), prepared statements, LISTEN, session
 * advisory locks, cached plans, temporary tables and everything else in pg_temp (functions,
 * types …), sequence state. Sent in the same message as the call's COMMIT or ROLLBACK, so
 * it runs on the same server connection (a transaction pooler hands the connection on only
 * when the message is done) and costs no round trip of its own. A DISCARD ALL after the
 * call could not do this: through a transaction pooler it is just the next query, run on
 * whichever server connection is free, after the pooler's next client got ours.
 */
const RESET_STATEMENTS = 'close all; set session authorization default; reset all; deallocate all; unlisten *; discard plans; discard temp; discard sequences';
/** The one part that is a SELECT, which costs the server more than the others together. */
const UNLOCK_ALL = 'select pg_advisory_unlock_all()';
export const SESSION_RESET = `${RESET_STATEMENTS}; ${UNLOCK_ALL}`;

/** The message resets the session as SESSION_RESET does (also COMMIT_RESET). */
export function resetsSession(text: string): boolean {
  return text.includes(RESET_STATEMENTS) && text.includes(UNLOCK_ALL);
}

/**
 * COMMIT with the reset before it, in the transaction (if COMMIT then fails, a deferred
 * check, nothing is left either). PostgreSQL runs COMMIT itself without statement_timeout
 * (finish_xact_command disables the timer first), deferred triggers and constraint checks
 * included: SET CONSTRAINTS ALL IMMEDIATE runs them first, as a statement, under the call's
 * timeout (set by its BEGIN; RESET ALL comes after). Nothing runs between it and COMMIT
 * that could queue more.
 */
export const COMMIT_RESET = `set constraints all immediate; ${SESSION_RESET}; commit`;

/**
 * ROLLBACK, then the reset in the same message (an implicit transaction on the same
 * server connection): a rollback leaves session advisory locks and prepared statements
 * taken before an error, and works whether the transaction failed or not.
 */
export const ROLLBACK_RESET = `rollback; ${SESSION_RESET}`;
