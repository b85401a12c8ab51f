/** postgres: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';
import { portable } from './backup-sql.js';
import { native } from './native.js';
import { emptyForNativeDdl, nativeDdlObjects, objectsPresent, readNativeDdl } from './native-ddl.js';
import { checkNativeDdl } from './native-ddl-check.js';
import { SERIAL_PREFIX } from './sequence-options.js';
import { jsonLines, reader, writer } from './values.js';

export const backup: BackupSupport = {
  portable,
  reader,
  writer,
  jsonLines,
  decimalDigits: null,
  native,
  nativeDdl: readNativeDdl,
  nativeDdlObjects,
  objectsPresent,
  // `json` (its text kept here) becomes the target's JSON; its own other types (enums, domains, arrays, tsvector) have no portable stand-in: text, listed.
  crossType: (native) => (native === 'json' ? { type: 'json', lossy: 'becomes the target\'s JSON: the document\'s own text (key order, duplicate keys, spacing, \\u escapes) is not kept, its value is' } : undefined),
  // A serial and an identity are both another backend's auto-increment.
  sameBackendOnly: (feature) => feature.startsWith(SERIAL_PREFIX),
  checkNativeDdl,
  emptyForNativeDdl,
  jsonKeepsText: () => false,
  namesPerSchema: { indexes: true, foreignKeys: false },
  textRefusesNul: true,
  maxNameBytes: 63,
};
