/**
 * The engine's half of read-only on PostgreSQL. A READ ONLY transaction stops writes
 * to tables, but not what superusers and holders of the file, program and signal
 * roles can do from a SELECT (read or write server files, run programs, signal other
 * sessions, change table pages through extensions). So agent statements on a
 * read-only connection whose account holds such powers run under a role without
 * them: `set_config('role', …, true)` inside the read-only transaction, in the same
 * round trip as BEGIN. The role is decided once, at connect time.
 *
 * The way back (SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION, set_config('role'))
 * is refused by the classifier: PostgreSQL checks role membership against the session
 * user, so a superuser session could otherwise take its powers back (SPEC §6).
 */
import { DbError } from '../../../errors.js';
import type { ReadOnlyGuard } from '../../dialect.js';
import { beginWith } from './settings.js';

/** Predefined roles whose members can reach files, programs or other sessions. */
const POWER_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_signal_backend'];
/** Built-in functions revoked from PUBLIC that reach files or the server: an explicit EXECUTE grant is a power too. */
const POWER_FUNCTIONS = [
  'pg_read_file(text)', 'pg_read_binary_file(text)', 'pg_ls_dir(text)', 'pg_stat_file(text)',
  'lo_import(text)', 'lo_export(oid,text)', 'pg_reload_conf()', 'pg_rotate_logfile()',
];
/** Since PostgreSQL 14: SELECT on every table, view and sequence, USAGE on every schema, nothing else. */
export const READ_ALL_ROLE = 'pg_read_all_data';

function powersOf(oid: string): string {
  return `array_to_string(array(
      select p.rolname::text from pg_roles p where p.rolname in (${POWER_ROLES.map((r) => `'${r}'`).join(', ')}) and pg_has_role(${oid}, p.oid, 'MEMBER')
      union all
      select f from unnest(array[${POWER_FUNCTIONS.map((f) => `'${f}'`).join(', ')}]) f
        where to_regprocedure(f) is not null and has_function_privilege(${oid}, to_regprocedure(f), 'EXECUTE')), ';')`;
}

/**
 * The connect-time probe: server, database, account, recovery (standby.ts), and what the guard needs. $1 is
 * the configured read_only_role or null. One query, pg_roles and privilege functions only.
 */
export const CONNECT_SQL = `select current_setting('server_version') as v, current_database() as db, current_user as u, pg_is_in_recovery() as in_recovery,
  (select rolsuper from pg_roles where rolname = current_user) as me_super,
  (select ${powersOf('r.oid')} from pg_roles r where r.rolname = current_user) as me_powers,
  exists (select 1 from pg_roles r where r.rolname = '${READ_ALL_ROLE}' and pg_has_role(current_user, r.oid, 'MEMBER')) as read_all,
  (select ${powersOf('r.oid')} from pg_roles r where r.rolname = '${READ_ALL_ROLE}') as read_all_powers,
  (select rolsuper from pg_roles where rolname = $1::text) as cfg_super,
  (select ${powersOf('r.oid')} from pg_roles r where r.rolname = $1::text) as cfg_powers,
  (select pg_has_role(current_user, r.oid, 'MEMBER') from pg_roles r where r.rolname = $1::text) as cfg_usable`;

export interface GuardPlan extends ReadOnlyGuard {
  /** The role agent statements run as, or null: the account's own. */
  role: string | null;
}

function powersIn(row: Record<string, unknown>, key: string): string[] {
  const text = row[key];
  return typeof text === 'string' && text !== '' ? text.split(';') : [];
}

/** Decides the guard from CONNECT_SQL's row. Throws when a configured role cannot serve. */
export function planGuard(row: Record<string, unknown>, configuredRole: string | undefined): GuardPlan {
  if (configuredRole !== undefined) return configuredPlan(row, configuredRole);
  const powers = row.me_super === true ? ['superuser'] : powersIn(row, 'me_powers');
  if (powers.length === 0) return { role: null, engine: 'read-only transaction', classifier: true };
  if (row.read_all === true) {
    const plan: GuardPlan = { role: READ_ALL_ROLE, engine: `read-only transaction + role ${READ_ALL_ROLE}`, classifier: true };
    // A grant to PUBLIC (GRANT EXECUTE ON FUNCTION pg_read_file TO PUBLIC) follows every role.
    const kept = powersIn(row, 'read_all_powers');
    return kept.length === 0 ? plan : { ...plan, warning: `${READ_ALL_ROLE} itself holds ${kept.join(', ')} (granted to PUBLIC or to it): only the classifier stops those; revoke them or configure read_only_role (SPEC §6.1)` };
  }
  return {
    role: null,
    engine: 'read-only transaction',
    classifier: true,
    warning: `the account holds ${powers.join(', ')} and cannot switch to ${READ_ALL_ROLE} (PostgreSQL 14+, and membership needed): only the classifier stops file, program and signal functions; configure read_only_role (SPEC §6)`,
  };
}

function configuredPlan(row: Record<string, unknown>, role: string): GuardPlan {
  const details = { read_only_role: role };
  if (row.cfg_usable === null || row.cfg_usable === undefined) throw new DbError('INVALID_INPUT', `read_only_role "${role}" does not exist`, details);
  if (row.cfg_usable !== true) throw new DbError('PERMISSION_DENIED', `the account is not a member of read_only_role "${role}", so it cannot switch to it`, details);
  const powers = row.cfg_super === true ? ['superuser'] : powersIn(row, 'cfg_powers');
  if (powers.length > 0) throw new DbError('INVALID_INPUT', `read_only_role "${role}" holds ${powers.join(', ')}: it must be a role without file, program or signal privileges`, details);
  return { role, engine: `read-only transaction + role ${role}`, classifier: true };
}

/**
 * BEGIN of a read-only call, in one round trip: the transaction, the role, the statement
 * timeout and the interval style (settings.ts). The SELECT also takes the transaction's
 * first snapshot, after which PostgreSQL refuses `SET transaction_read_only = off`.
 */
export function beginReadOnly(role: string | null, timeoutMs: number): string {
  return beginWith('begin read only', timeoutMs, role ? [['role', role]] : []);
}
