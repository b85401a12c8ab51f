/** sqlite: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';
import { objectSql, readDdl } from './backup-ddl.js';
import { notInRows, portable } from './backup-sql.js';
import { crossType } from './cross.js';
import { native } from './native.js';
import { reader, writer } from './values.js';

/** SQLite keeps 15 significant digits of a NUMERIC value. */
const DECIMAL_DIGITS = 15;

export const backup: BackupSupport = {
  // The CREATE statements of sqlite_schema ride along (backup-ddl.ts), so a restore into SQLite is exact.
  portable: { ...portable, readDdl, objectSql, notInRows },
  reader,
  writer,
  decimalDigits: DECIMAL_DIGITS,
  charUnpadded: true,
  native,
  crossType,
  jsonKeepsText: () => true,
  namesPerSchema: { indexes: true, foreignKeys: false },
};
