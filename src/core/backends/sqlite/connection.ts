/** sqlite: the connection part of the backend module (contract/connection.ts). */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ConnectionSupport } from '../contract/connection.js';
import { parseSqliteUrl } from './url.js';

export const connection: ConnectionSupport = {
  schemes: ['sqlite:'],
  urlForms: ['sqlite:relative.db', 'sqlite:///absolute.db', 'sqlite::memory:'],
  parseUrl: parseSqliteUrl,
  // No account: the server's user can write the file or not. A memory database cannot be told.
  canWrite: async (_dialect, { file }) => {
    if (!file || file === ':memory:') return null;
    return access(file, constants.W_OK).then(() => true, () => false);
  },
  writeWarning: {
    writable: 'database file is writable by the server',
    fix: 'make the database file read-only for the server\'s user',
  },
};
