/**
 * What pg_dump and pg_restore print, read as our codes (src/core/backends/postgres/native.ts
 * pgToolRefusal): a session lost under the tool is CONNECTION_LOST in each way the tools word
 * it, and never because a server error quotes such words from the data.
 */
import { describe, expect, it } from 'vitest';
import { pgToolRefusal } from '../../src/core/backends/postgres/native.js';

const LIBPQ_CLOSED = 'server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.';

describe('pg_dump and pg_restore output read as codes', () => {
  it.each([
    ['pg_dump, a query of its own', `pg_dump: error: query failed: ${LIBPQ_CLOSED}\npg_dump: detail: Query was: SELECT at.attname FROM pg_attribute at`],
    ['pg_dump, the server said why', 'pg_dump: error: query failed: FATAL:  terminating connection due to administrator command\nserver closed the connection unexpectedly'],
    ['pg_dump, while copying a table', `pg_dump: error: Dumping the contents of table "big" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: ${LIBPQ_CLOSED}\npg_dump: detail: Command was: COPY public.big (id, note) TO stdout;`],
    ['pg_dump, while copying, the server said why', 'pg_dump: error: Dumping the contents of table "big" failed: PQgetCopyData() failed.\npg_dump: detail: Error message from server: FATAL:  terminating connection due to administrator command'],
    ['pg_restore, while copying', `pg_restore: error: error returned by PQputCopyData: ${LIBPQ_CLOSED}`],
    ['pg_restore, at the end of a copy', `pg_restore: error: error returned by PQputCopyEnd: ${LIBPQ_CLOSED}`],
    ['pg_restore, a statement', `pg_restore: error: could not execute query: ${LIBPQ_CLOSED}\nCommand was: CREATE INDEX big_note ON public.big USING btree (note);`],
    ['pg_restore, no connection left', 'pg_restore: error: could not execute query: no connection to the server\nCommand was: COMMIT'],
    ['pg_restore, lost', 'pg_restore: error: connection to server was lost'],
    ['pg_restore, at the end of a copy (PQgetResult)', `pg_restore: error: COPY failed for table "big": ${LIBPQ_CLOSED}`],
    ['pg_restore, at the end of a copy, the server said why', 'pg_restore: error: COPY failed for table "big": FATAL:  terminating connection due to administrator command\nCONTEXT:  COPY big, line 16000'],
    ['pg_restore, a copy of a table whose name holds `": `', `pg_restore: error: COPY failed for table "a": b": ${LIBPQ_CLOSED}`],
  ])('%s: CONNECTION_LOST', (_, stderr) => {
    expect(pgToolRefusal(stderr)).toBe('CONNECTION_LOST');
  });

  it.each([
    ['a duplicate key whose value is the words', 'pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(no connection to the server) already exists.\nCommand was: COPY public.t (v) FROM stdin;'],
    ['a value with a colon before the words', 'pg_restore: error: COPY failed for table "t": ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(x: server closed the connection unexpectedly) already exists.'],
    ['a value over two lines', 'pg_restore: error: COPY failed for table "t": ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(a\nserver closed the connection unexpectedly) already exists.'],
    ['a bad input that quotes them', 'pg_restore: error: COPY failed for table "t": ERROR:  invalid input syntax for type integer: "connection to server was lost"'],
    ['a name that is the words', 'pg_dump: error: query failed: ERROR:  permission denied for table "FATAL:  terminating connection due to administrator command"'],
    // test/review-tier FINDINGS.md finding 1: a value whose newline starts a line like the tool's.
    ...[
      'pg_restore: error: connection to server was lost',
      'pg_restore: error: could not execute query: server closed the connection unexpectedly',
      'pg_restore: no connection to the server',
      'pg_restore: detail: Error message from server: FATAL:  terminating connection due to administrator command',
    ].map((forged, i): [string, string] => [`a duplicate key whose value forges a tool line (${i})`, `pg_restore: error: COPY failed for table "t1": ERROR:  duplicate key value violates unique constraint "t1_pkey"\nDETAIL:  Key (v)=(b\n${forged}) already exists.\nCONTEXT:  COPY t1, line 1`]),
    ['a table whose name holds the words before a duplicate key', 'pg_restore: error: COPY failed for table "x": server closed the connection unexpectedly": ERROR:  duplicate key value violates unique constraint "t_pkey"'],
  ])('%s: not CONNECTION_LOST', (_, stderr) => {
    expect(pgToolRefusal(stderr)).not.toBe('CONNECTION_LOST');
  });

  it.each([
    // FINDINGS.md finding 3: the other codes were matched anywhere in the text, values included.
    'permission denied', 'unsupported version', 'could not connect', 'relation "x" does not exist', 'no matching tables',
  ])('a duplicate key whose value is "%s": no code of ours (INTERNAL)', (value) => {
    expect(pgToolRefusal(`pg_restore: error: COPY failed for table "t": ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(${value}) already exists.`)).toBeUndefined();
  });

  it('keeps the other refusals', () => {
    expect(pgToolRefusal('pg_dump: error: query failed: ERROR:  permission denied for table secret')).toBe('PERMISSION_DENIED');
    expect(pgToolRefusal('pg_dump: error: aborting because of server version mismatch')).toBe('UNSUPPORTED');
    expect(pgToolRefusal('pg_dump: error: no matching tables were found')).toBe('UNDEFINED_OBJECT');
    expect(pgToolRefusal('pg_restore: error: could not execute query: ERROR:  schema "app" does not exist\nCommand was: CREATE TABLE app.t (id integer);')).toBe('UNDEFINED_OBJECT');
    expect(pgToolRefusal('pg_dump: error: Dumping the contents of table "secret" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: ERROR:  permission denied for table secret')).toBe('PERMISSION_DENIED');
    expect(pgToolRefusal('pg_dump: error: connection to server at "127.0.0.1", port 5999 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?')).toBe('CONNECTION_FAILED');
    expect(pgToolRefusal('pg_restore: error: could not read from input file: end of file')).toBeUndefined();
  });
});
