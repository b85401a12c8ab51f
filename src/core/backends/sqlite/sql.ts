/** sqlite: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';
import { classifySqlite } from './classify.js';
import { fingerprintSqlite } from './fingerprint.js';
import { sqliteLexer } from './lexer.js';

export const sql: SqlSupport = {
  lexer: sqliteLexer,
  placeholders: { numbered: false, questionMarkOperator: false, bracketSlices: false, arrays: false },
  delimiterCommands: false,
  classify: (text) => classifySqlite(text),
  fingerprint: { fast: fingerprintSqlite, caseSensitiveNames: false },
};
