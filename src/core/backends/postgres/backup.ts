/** postgres: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';
import { portable } from './backup-sql.js';
import { native } from './native.js';
import { readNativeDdl } from './native-ddl.js';
import { checkNativeDdl } from './native-ddl-check.js';
import { jsonLines, reader, writer } from './values.js';

export const backup: BackupSupport = {
  portable,
  reader,
  writer,
  jsonLines,
  decimalDigits: null,
  native,
  nativeDdl: readNativeDdl,
  checkNativeDdl,
  // Its own types (enums, domains, arrays, tsvector) have no portable stand-in: text, listed.
  crossType: () => undefined,
  namesPerSchema: { indexes: true, foreignKeys: false },
  textRefusesNul: true,
};
