/** mysql: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';
import { readDdl, objectSql } from './backup-ddl.js';
import { portable } from './backup-sql.js';
import { crossType } from './cross.js';
import { native } from './native.js';
import { jsonLines, reader, writer } from './values.js';

export const backup: BackupSupport = {
  // The server's own DDL rides along (backup-ddl.ts), so a restore into MySQL/MariaDB is exact.
  portable: { ...portable, readDdl, objectSql },
  reader,
  writer,
  jsonLines,
  decimalDigits: null,
  native,
  crossType,
  jsonKeepsText: (flavor) => flavor === 'mariadb',
  danglingForeignKeys: true,
  namesPerSchema: { indexes: false, foreignKeys: true },
  maxCommentChars: 1024,
  commentsBmpOnly: true,
};
