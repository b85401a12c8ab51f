/**
 * Review of issue 17 item 4 (SPEC §3.1 standby): writes a classifier cannot see (a function
 * that writes, sequences, temporary tables, transaction ids, LISTEN) on a READ-WRITE
 * connection to a hot standby. Each should come back as READ_ONLY_VIOLATION with
 * details.reason "standby" (the stable code and message the SPEC promises), not as a raw
 * server error under another code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';
import { startPrimaryWithStandby, type PrimaryWithStandby } from '../topology/standby.js';

describe.skipIf(process.getuid?.() !== 0)('writes the classifier cannot see, on a read-write connection to a standby', () => {
  let t: PrimaryWithStandby;
  let h: Harness;

  beforeAll(async () => {
    t = await startPrimaryWithStandby();
    h = await startInProcess({ primary: { url: t.primaryUrl() }, standby: { url: t.standbyUrl() } });
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: 'CREATE TABLE items (id int PRIMARY KEY)' });
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: 'CREATE SEQUENCE seq' });
    await mustCall(h.client, 'execute_query', { connection: 'primary', query: "CREATE FUNCTION add_item(i int) RETURNS int LANGUAGE sql AS 'INSERT INTO items VALUES (i) RETURNING id'" });
    await t.waitForReplay();
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await t?.stop();
  }, 60_000);

  it.each([
    ['a function that inserts', 'SELECT add_item(7)'],
    ['nextval', "SELECT nextval('seq')"],
    ['a temporary table', 'CREATE TEMP TABLE scratch (a int)'],
    ['a data-modifying CTE', 'WITH x AS (INSERT INTO items VALUES (8) RETURNING id) SELECT * FROM x'],
    ['txid_current', 'SELECT txid_current()'],
    ['LISTEN', 'LISTEN some_channel'],
  ])('%s: READ_ONLY_VIOLATION, reason standby', async (_what, query) => {
    const r = await callTool(h.client, 'execute_query', { connection: 'standby', query });
    const got = r.ok ? { code: 'ok' } : { code: r.error.code, reason: r.error.details.reason, message: r.error.message.slice(0, 160) };
    console.log('review17 standby', query, got);
    expect(got).toMatchObject({ code: 'READ_ONLY_VIOLATION', reason: 'standby' });
  });
});
