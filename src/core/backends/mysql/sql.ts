/** mysql: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';
import { classifyMysql } from './classify.js';
import { fingerprintMysql } from './fingerprint.js';
import { lexMysql, MYSQL_DEFAULT_QUOTING, mysqlLexer, sqlModeQuoting } from './lexer.js';

export const sql: SqlSupport = {
  lexer: mysqlLexer,
  executedTokens: (sql, settings) => {
    const quoting = settings?.sql_mode === undefined ? MYSQL_DEFAULT_QUOTING : sqlModeQuoting(settings.sql_mode);
    if (!quoting) return { tokens: [], ambiguous: true };
    const { tokens, ambiguity } = lexMysql(sql, quoting);
    return { tokens, ambiguous: ambiguity !== null };
  },
  placeholders: { numbered: false, questionMarkOperator: false, bracketSlices: false, arrays: false },
  delimiterCommands: true,
  // The classifier reads the text its own ways (executable comments as code, every sql_mode quoting): not the plain tokens.
  classify: (text) => classifyMysql(text),
  fingerprint: { fast: fingerprintMysql, caseSensitiveNames: false },
};
