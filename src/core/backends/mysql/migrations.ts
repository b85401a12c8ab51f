/** mysql: the migrations part of the backend module (contract/migrations.ts). */
import { DbError } from '../../../errors.js';
import type { MigrationsSupport, Place } from '../contract/migrations.js';
import { EVENTS_TABLE, HISTORY_TABLE, LOCK_TABLE } from '../../bookkeeping.js';
import type { Session } from '../../dialect.js';

const ID_COLUMN = 'id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY';

/** The database selected when the session began (before any migration's USE). */
async function place(s: Session): Promise<Place> {
  const [r] = await s.query('SELECT DATABASE() AS d');
  if (r?.d === null || r?.d === undefined) throw new DbError('INVALID_INPUT', 'the connection has no database selected: name one in its URL (mysql://host/dbname); the migration history is kept there');
  const database = String(r.d);
  const at = (table: string): string => `\`${database.replace(/`/g, '``')}\`.\`${table}\``;
  return { database, history: at(HISTORY_TABLE), events: at(EVENTS_TABLE), locks: at(LOCK_TABLE) };
}

const PROBE = `SELECT
  (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '${HISTORY_TABLE}') AS history,
  (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '${EVENTS_TABLE}') AS events,
  (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '${EVENTS_TABLE}' AND COLUMN_NAME = 'id') AS events_id`;

export const migrations: MigrationsSupport = {
  place,
  probe: (p) => ({ text: PROBE, params: [p.database, p.database, p.database] }),
  eventsIdColumn: ID_COLUMN,
  addEventsId: (p) => [`ALTER TABLE ${p.events} ADD COLUMN ${ID_COLUMN} FIRST`],
  // The tables stay in the connection's database: nothing to create or move first.
  prepareBookkeeping: async () => undefined,
  versionParam: 'CAST(? AS SIGNED)',
  legacyHistory: null,
  inTransactionTrap: () => null,
};
