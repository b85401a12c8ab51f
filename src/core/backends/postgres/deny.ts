/**
 * Functions a READ ONLY transaction does not stop, grouped by why, and the settings
 * no agent statement may change. Names are compared lower-cased and without schema,
 * so pg_catalog.X, "X" and U&"..." spellings match too.
 *
 * Any identifier in the parse tree that names one of these functions counts as a call
 * to it, wherever it stands: `(arg).fn`, `tbl.fn` and `col.fn` are attribute-notation
 * calls of fn(arg), and CREATE CAST / OPERATOR / AGGREGATE / TYPE / TRIGGER, GRANT
 * and ALTER FUNCTION name functions that will later run. These names are not
 * plausible column names, so treating every occurrence as a call costs nothing real.
 */

export interface DenyGroup {
  reason: string;
  /** Refused on every connection, not only read-only ones (reaches outside the database). */
  escape?: boolean;
  names: ReadonlySet<string>;
  /** Matched against function-call names only (FuncCall nodes), where a prefix is safe. */
  patterns: readonly RegExp[];
  /** Matched against every identifier: prefixes narrow enough never to name a column. */
  identifierPatterns?: readonly RegExp[];
}

/** Large-object functions, spelled out: `lo_` as a prefix would match ordinary column names. */
const LARGE_OBJECT = [
  'lo_creat', 'lo_create', 'lo_open', 'lo_close', 'lo_unlink', 'lo_put', 'lo_get', 'lo_from_bytea', 'lo_lseek',
  'lo_lseek64', 'lo_tell', 'lo_tell64', 'lo_truncate', 'lo_truncate64', 'loread', 'lowrite',
];

/** Functions that run SQL given as text: the classifier cannot see that SQL unless it is a constant. */
export const RUNS_SQL_TEXT = new Set([
  'query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'ts_stat', 'ts_rewrite',
  // tablefunc (an allowed extension): crosstab runs its text arguments; connectby builds SQL from its names.
  'crosstab', 'crosstab2', 'crosstab3', 'crosstab4', 'connectby',
  // xml2: xpath_table builds SQL from its arguments.
  'xpath_table',
]);

/**
 * Which arguments of a RUNS_SQL_TEXT function are whole SQL statements (by argument
 * count); 'never' for functions that splice their arguments into SQL of their own,
 * which no classification of a fragment can judge.
 */
export function sqlArguments(name: string, argc: number): number[] | 'never' {
  switch (name) {
    case 'ts_rewrite': return argc === 2 ? [1] : [];
    case 'crosstab': return argc === 2 ? [0, 1] : [0];
    case 'connectby':
    case 'xpath_table': return 'never';
    default: return [0];
  }
}

export const DENY_GROUPS: readonly DenyGroup[] = [
  {
    reason: 'reads or writes files on the server',
    escape: true,
    // adminpack: pg_file_write/rename/unlink/sync, pg_logdir_ls; lo_import/lo_export are the server-side file forms.
    names: new Set(['pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_logdir_ls', 'lo_import', 'lo_export']),
    // pg_walinspect reads the server's WAL files.
    patterns: [/^pg_ls_/, /^pg_file_/, /^pg_get_wal_/],
    identifierPatterns: [/^pg_ls_/, /^pg_file_/, /^pg_get_wal_/],
  },
  {
    // pg_surgery and pg_visibility change heap pages directly, even inside a read-only transaction.
    reason: 'changes table pages directly, bypassing transactions',
    escape: true,
    names: new Set(['heap_force_kill', 'heap_force_freeze', 'pg_truncate_visibility_map']),
    patterns: [],
  },
  {
    // dblink('dbname=same', 'DELETE ...') writes through a second, read-write session; postgres_fdw likewise.
    reason: 'opens its own connection, outside the read-only transaction',
    escape: true,
    names: new Set(['dblink', 'postgres_fdw_disconnect', 'postgres_fdw_disconnect_all']),
    patterns: [/^dblink_/],
    identifierPatterns: [/^dblink_/],
  },
  {
    reason: 'acts on other sessions or on the server itself',
    escape: true,
    names: new Set([
      'pg_terminate_backend', 'pg_cancel_backend', 'pg_signal_backend', 'pg_reload_conf', 'pg_rotate_logfile',
      'pg_rotate_logfile_old', 'pg_promote', 'pg_log_backend_memory_contexts', 'autoprewarm_start_worker',
      'autoprewarm_dump_now',
    ]),
    patterns: [],
  },
  {
    // Server-wide: WAL switches, base backups, replay on a standby, replication slots hold WAL for everyone.
    reason: 'controls WAL, backups or replication of the whole server',
    escape: true,
    names: new Set([
      'pg_switch_wal', 'pg_switch_xlog', 'pg_create_restore_point', 'pg_start_backup', 'pg_stop_backup',
      'pg_backup_start', 'pg_backup_stop', 'pg_wal_replay_pause', 'pg_wal_replay_resume', 'pg_xlog_replay_pause',
      'pg_xlog_replay_resume', 'pg_drop_replication_slot', 'pg_replication_slot_advance', 'pg_log_standby_snapshot',
    ]),
    patterns: [/^pg_replication_origin_/, /^pg_(create|copy)_\w+_replication_slot$/, /^pg_logical_slot_(get|peek)_/],
    identifierPatterns: [/^pg_replication_origin_/, /^pg_(create|copy)_\w+_replication_slot$/, /^pg_logical_slot_(get|peek)_/],
  },
  {
    reason: 'runs SQL the classifier cannot see',
    names: RUNS_SQL_TEXT,
    patterns: [/^(query|cursor|table|schema|database)_to_xml/],
  },
  {
    reason: 'has side effects outside the transaction',
    names: new Set([
      'set_config', 'pg_notify', ...LARGE_OBJECT, 'pg_logical_emit_message', 'pg_import_system_collations',
      // Sequences are never rolled back; taking an xid or exporting a snapshot is visible to others.
      'nextval', 'setval', 'txid_current', 'pg_current_xact_id', 'pg_export_snapshot', 'pg_stat_statements_reset',
      // These rewrite index pages and are not refused in a read-only transaction.
      'brin_summarize_new_values', 'brin_summarize_range', 'brin_desummarize_range', 'gin_clean_pending_list',
    ]),
    patterns: [/^pg_advisory_/, /^pg_try_advisory_/, /^lo_/, /^pg_stat_reset/],
    identifierPatterns: [/^pg_advisory_/, /^pg_try_advisory_/, /^pg_stat_reset/],
  },
];

/** The group a name belongs to. `call`: the name is a FuncCall's (prefix patterns apply); otherwise any identifier. */
export function denyGroupOf(name: string, call: boolean): DenyGroup | undefined {
  return DENY_GROUPS.find((g) => g.names.has(name) || (call ? g.patterns : g.identifierPatterns ?? []).some((p) => p.test(name)));
}

/**
 * Settings no statement may change on any connection: the role and authorization the
 * read-only guard drops to (every way back), the string rules the classifier parses
 * by, libraries loaded into the server, and switches that turn the server's own
 * protections off.
 */
export const PROTECTED_SETTINGS: ReadonlyMap<string, string> = new Map([
  ['role', 'the role is the read-only guard\'s; changing it could undo the dropped privileges'],
  ['session_authorization', 'the session\'s authorization is the read-only guard\'s; changing it could undo the dropped privileges'],
  ['standard_conforming_strings', 'the classifier parses strings by this setting: the server and the classifier would disagree on where a string ends'],
  ['escape_string_warning', 'the classifier parses strings by the pinned string settings'],
  ['backslash_quote', 'the classifier parses strings by the pinned string settings'],
  ['client_encoding', 'the classifier reads the statement as UTF-8: another client encoding would change what the server reads'],
  ['session_preload_libraries', 'it loads native libraries into server processes'],
  ['local_preload_libraries', 'it loads native libraries into server processes'],
  ['shared_preload_libraries', 'it loads native libraries into server processes'],
  ['dynamic_library_path', 'it decides which native libraries the server loads'],
  ['jit_provider', 'it loads a native library into server processes'],
  ['allow_system_table_mods', 'it lets statements change the system catalogs'],
  ['lo_compat_privileges', 'it turns off the privilege checks of large objects (and their server-file forms)'],
  ['ignore_system_indexes', 'it changes how the server reads its own catalogs'],
  ['zero_damaged_pages', 'it destroys data on damaged pages'],
  ['session_replication_role', 'it turns off triggers and foreign-key checks'],
  ['transaction_read_only', 'read-only transactions are the read-only guard\'s'],
  ['default_transaction_read_only', 'read-only transactions are the read-only guard\'s'],
]);
