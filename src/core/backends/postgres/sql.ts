/** postgres: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';
import { classifyPostgres, loadPostgresParser } from './classify.js';
import { fingerprintPostgres } from './fingerprint.js';
import { postgresLexer } from './lexer.js';
import { withoutPsqlMarkers } from './psql.js';

export const sql: SqlSupport = {
  lexer: postgresLexer,
  // The driver takes $1..$n; `?` is also jsonb's operator; `a[1:2]` slices; arrays bind as arrays (= ANY($1)).
  placeholders: { numbered: true, questionMarkOperator: true, bracketSlices: true, arrays: true },
  delimiterCommands: false,
  scriptText: withoutPsqlMarkers,
  // libpg-query parses the text itself: our tokens are not its input.
  classify: (text) => classifyPostgres(text),
  loadClassifier: loadPostgresParser,
  // Unquoted names fold to lower case: "Orders" is another name than orders.
  fingerprint: { fast: fingerprintPostgres, caseSensitiveNames: true },
};
