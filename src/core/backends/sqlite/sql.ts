/** sqlite: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';
import { classifySqlite } from './classify.js';
import { fingerprintSqlite } from './fingerprint.js';
import { sqliteLexer } from './lexer.js';

export const sql: SqlSupport = {
  lexer: sqliteLexer,
  placeholders: { numbered: false, questionMarkOperator: false, bracketSlices: false, arrays: false },
  delimiterCommands: false,
  // The classifier reads the module's own tokens: those already lexed when binding serve it.
  classify: classifySqlite,
  fingerprint: { fast: fingerprintSqlite, caseSensitiveNames: false },
};
