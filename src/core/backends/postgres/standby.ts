/**
 * Hot standbys (issue 17 item 4): a server in recovery answers reads and refuses every
 * write (25006). A read-write connection to one refuses writes before sending them, and
 * get_connection says how far behind it is. Its state is never trusted for long: a
 * standby can be promoted (and an old primary come back as a standby), so a refusal
 * looks again first, and a 25006 on a write makes the next one look.
 */
import { DbError } from '../../../errors.js';
import type { StandbyState } from '../../dialect.js';

/**
 * One cheap query, functions only. The lag in time counts only while received WAL waits
 * to be replayed: on an idle primary the last replayed transaction ages without the
 * standby being behind.
 */
export const STANDBY_SQL = `select pg_is_in_recovery() as standby,
  case when not pg_is_in_recovery() then null
       when pg_last_wal_receive_lsn() is not distinct from pg_last_wal_replay_lsn() then 0
       else round(extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000)::float8 end as lag_ms,
  pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 as lag_bytes`;

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Math.max(0, Number(v)));

/** STANDBY_SQL's row -> the standby's state, or undefined on a primary. */
export function standbyState(row: Record<string, unknown> | undefined): StandbyState | undefined {
  if (row?.standby !== true) return undefined;
  return { replay_lag_ms: numberOrNull(row.lag_ms), unreplayed_bytes: numberOrNull(row.lag_bytes) };
}

export function standbyRefusal(): DbError {
  return new DbError(
    'READ_ONLY_VIOLATION',
    'the server is a standby (in recovery: it replays a primary\'s changes and refuses writes); run writes on the primary',
    { reason: 'standby', recovery: true },
  );
}
