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
  ])('%s: CONNECTION_LOST', (_, stderr) => {
    expect(pgToolRefusal(stderr)).toBe('CONNECTION_LOST');
  });

  it.each([
    ['a duplicate key whose value is the words', 'pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(no connection to the server) already exists.\nCommand was: COPY public.t (v) FROM stdin;'],
    ['a value with a colon before the words', 'pg_restore: error: COPY failed for table "t": ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(x: server closed the connection unexpectedly) already exists.'],
    ['a value over two lines', 'pg_restore: error: COPY failed for table "t": ERROR:  duplicate key value violates unique constraint "t_pkey"\nDETAIL:  Key (v)=(a\nserver closed the connection unexpectedly) already exists.'],
    ['a bad input that quotes them', 'pg_restore: error: COPY failed for table "t": ERROR:  invalid input syntax for type integer: "connection to server was lost"'],
    ['a name that is the words', 'pg_dump: error: query failed: ERROR:  permission denied for table "FATAL:  terminating connection due to administrator command"'],
  ])('%s: not CONNECTION_LOST', (_, stderr) => {
    expect(pgToolRefusal(stderr)).not.toBe('CONNECTION_LOST');
  });

  it('keeps the other refusals', () => {
    expect(pgToolRefusal('pg_dump: error: query failed: ERROR:  permission denied for table secret')).toBe('PERMISSION_DENIED');
    expect(pgToolRefusal('pg_dump: error: aborting because of server version mismatch')).toBe('UNSUPPORTED');
    expect(pgToolRefusal('pg_dump: error: no matching tables were found')).toBe('UNDEFINED_OBJECT');
    expect(pgToolRefusal('pg_restore: error: could not read from input file: end of file')).toBeUndefined();
  });
});
