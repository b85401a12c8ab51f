/** mysql: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';
import { classifyMysql } from './classify.js';
import { fingerprintMysql } from './fingerprint.js';
import { lexMysql, MYSQL_DEFAULT_QUOTING, mysqlLexer } from './lexer.js';

export const sql: SqlSupport = {
  lexer: mysqlLexer,
  executedTokens: (sql) => {
    const { tokens, ambiguity } = lexMysql(sql, MYSQL_DEFAULT_QUOTING);
    return { tokens, ambiguous: ambiguity !== null };
  },
  placeholders: { numbered: false, questionMarkOperator: false, bracketSlices: false, arrays: false },
  delimiterCommands: true,
  // The classifier reads the text its own ways (executable comments as code, every sql_mode quoting): not the plain tokens.
  classify: (text) => classifyMysql(text),
  fingerprint: { fast: fingerprintMysql, caseSensitiveNames: false },
};
