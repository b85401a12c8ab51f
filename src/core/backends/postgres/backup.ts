/** postgres: the backup part of the backend module (contract/backup.ts). */
import type { BackupSupport } from '../contract/backup.js';

export const backup: BackupSupport = {};
