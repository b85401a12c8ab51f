/** sqlite: the migrations part of the backend module (contract/migrations.ts). */
import type { MigrationsSupport, Place } from '../contract/migrations.js';
import { EVENTS_TABLE, eventsTableSql, HISTORY_TABLE, LOCK_TABLE } from '../../bookkeeping.js';

const ID_COLUMN = 'id INTEGER PRIMARY KEY';

const at = (table: string): string => `main."${table}"`;

const PROBE = `SELECT
  (SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = '${HISTORY_TABLE}') AS history,
  (SELECT count(*) FROM main.sqlite_schema WHERE type = 'table' AND name = '${EVENTS_TABLE}') AS events,
  (SELECT count(*) FROM pragma_table_info('${EVENTS_TABLE}', 'main') WHERE name = 'id') AS events_id`;

const EVENT_COLUMNS = 'at, version, action, actor, detail';

/** ALTER TABLE cannot add a key here: the table is rebuilt, rowid order kept as id. */
function addEventsId(p: Place): string[] {
  const fresh = at(`${EVENTS_TABLE}_rebuild`);
  return [
    `DROP TABLE IF EXISTS ${fresh}`,
    eventsTableSql(fresh, ID_COLUMN),
    `INSERT INTO ${fresh} (id, ${EVENT_COLUMNS}) SELECT rowid, ${EVENT_COLUMNS} FROM ${p.events} ORDER BY rowid`,
    `DROP TABLE ${p.events}`,
    `ALTER TABLE ${fresh} RENAME TO "${EVENTS_TABLE}"`,
  ];
}

export const migrations: MigrationsSupport = {
  // The main database of the file: attached ones are never ours.
  place: async () => ({ history: at(HISTORY_TABLE), events: at(EVENTS_TABLE), locks: at(LOCK_TABLE) }),
  probe: () => ({ text: PROBE, params: [] }),
  eventsIdColumn: ID_COLUMN,
  addEventsId,
  // The tables live in the file itself: nothing to create or move first.
  prepareBookkeeping: async () => undefined,
  versionParam: 'CAST(? AS INTEGER)',
  legacyHistory: null,
  inTransactionTrap: (statement) => (/^\s*PRAGMA\s+(\w+\.)?foreign_keys\b/i.test(statement)
    ? { does: 'sets PRAGMA foreign_keys', because: 'which SQLite ignores inside a transaction' }
    : null),
};
