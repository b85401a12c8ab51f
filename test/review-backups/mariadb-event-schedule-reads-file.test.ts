/**
 * Review 7, finding 2. An event object is checked only for being one CREATE EVENT of its name
 * (check-ddl.ts: created() + objectClause(), which looks for SONAME only). MariaDB evaluates an
 * event's schedule (AT / STARTS / ENDS / EVERY) when the event is CREATED, i.e. during the restore,
 * in the restoring session; stored functions and subqueries are refused there, but built-ins are
 * not: LOAD_FILE() reads any file the server can read (secure_file_priv empty/NULL, FILE privilege),
 * and the value goes into error 1525 "Incorrect STARTS value: '<file>'", which restore_backup hands
 * back to the caller. SUBSTRING pages through a file of any length.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { craft, editHeader } from '../support/backup-file.js';
import { callTool, mariadb, mustCall, reviewDatabase, server, type Harness } from './harness.js';

let h: Harness; let dir: string; let backup: string;
let src: { url: string; drop(): Promise<void> }; let dst: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  src = await reviewDatabase('mysql', 'evs'); dst = await reviewDatabase('mysql', 'evd');
  ({ h, dir } = await server({ src: src.url, dst: dst.url }));
  mariadb(src.url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20)); INSERT INTO t VALUES (1,'a');");
  backup = String((await mustCall(h.client, 'create_backup', { connection: 'src' })).backup);
}, 60_000);
afterAll(async () => { await h?.close(); await src?.drop(); await dst?.drop(); });

it.each([
  ['STARTS', "CREATE EVENT ev ON SCHEDULE EVERY 1 DAY STARTS CONCAT('x', SUBSTRING(LOAD_FILE('/etc/passwd'), 1, 60)) DO SELECT 1"],
  ['AT', "CREATE EVENT ev ON SCHEDULE AT LOAD_FILE('/etc/passwd') DO SELECT 1"],
])('an event whose %s reads a server file: refused before anything runs, the file not in the answer', async (_, sql) => {
  const f = craft(dir, backup, `rv7-event-${_}.cmx.gz`, editHeader((hd) => { (hd.objects ??= []).push({ kind: 'event', name: 'ev', sql }); }));
  const r = await callTool(h.client, 'restore_backup', { connection: 'dst', backup_path: f });
  const answer = r.ok ? 'ok' : `${r.error.code} ${r.error.message}`;
  console.error('RV7 event schedule', answer.slice(0, 300));
  mariadb(dst.url, 'DROP EVENT IF EXISTS ev; DROP TABLE IF EXISTS t;');
  expect(answer).not.toContain('root:x:0:0');
  expect(r.ok ? 'ok' : r.error.code).toBe('BACKUP_CORRUPT');
});
