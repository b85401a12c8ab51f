/** mysql: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';
import { portable } from './backup-sql.js';
import { crossType } from './cross.js';
import { native } from './native.js';
import { reader, writer } from './values.js';

export const backup: BackupSupport = {
  portable,
  reader,
  writer,
  keepsSchemas: false,
  decimalDigits: null,
  native,
  crossType,
  namesPerSchema: { indexes: false, foreignKeys: true },
};
