/**
 * psql's lines in a script run as a migration (module.sql.scriptText): pg_dump 15.14+
 * writes `\restrict <key>` / `\unrestrict <key>` around a dump, markers only psql reads.
 */
import { DbError } from '../../../errors.js';
import { postgresLexer } from './lexer.js';

/** psql's `\restrict <key>` / `\unrestrict <key>`: markers, not SQL. */
const PSQL_MARKER = /^\\(restrict|unrestrict)(\s+\S+)?\s*$/;

/**
 * A pg_dump file run as a migration: its `\restrict` lines are dropped (psql alone reads
 * them); any other psql meta-command (`\connect`, `\copy`, `\i` …) is refused, naming
 * its line, rather than sent to the server as a syntax error. A backslash inside a
 * string, a quoted name, a dollar quote or a comment is text, not a command.
 */
export function withoutPsqlMarkers(sql: string): string {
  if (!/^\\/m.test(sql)) return sql;
  return mapScriptLines(sql, (line, i) => {
    if (!line.startsWith('\\')) return line;
    if (PSQL_MARKER.test(line.trimEnd())) return '';
    throw new DbError('INVALID_INPUT', `line ${i + 1} is a psql meta-command (${line.split(/\s/)[0]}), not SQL: remove it from the migration`, { line: i + 1 });
  });
}

/**
 * Passes each line of a script that starts outside a string, a quoted name, a dollar
 * quote or a comment through fn (its 0-based number given); other lines stay as they are.
 */
export function mapScriptLines(sql: string, fn: (line: string, i: number) => string): string {
  const inside = postgresLexer.tokenize(sql).filter((t) => t.kind === 'string' || t.kind === 'quoted_ident' || t.kind === 'comment');
  const covered = (at: number): boolean => inside.some((t) => t.start < at && at < t.end);
  let at = 0;
  return sql.split('\n').map((line, i) => {
    const start = at;
    at += line.length + 1;
    return covered(start) ? line : fn(line, i);
  }).join('\n');
}
