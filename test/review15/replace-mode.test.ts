/**
 * mode: "replace" over a database that already holds the same application (the usual
 * "put yesterday's backup back" case), and a SQLite native restore while another
 * connection has the target open. Issue 15: same backend exact, or listed before anything
 * is touched; a failure leaves the old database as it was.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LITE, PG, differences, outcome, pair, psql, roundTrip, type Json, type RoundTrip } from './harness.js';
import { SAAS_SQL } from './pg-saas-schema.js';
import { snapshotOf } from '../fidelity/catalog.js';

for (const allowLossy of [false, true]) {
describe(`PostgreSQL SaaS database restored with mode replace over itself (a whole-database portable backup), allow_lossy ${allowLossy}`, () => {
  let rt: RoundTrip;
  let dstBefore: Awaited<ReturnType<typeof snapshotOf>>;
  beforeAll(async () => {
    rt = await pair(PG, PG, allowLossy ? 'rpa' : 'rpl');
    psql(rt.src.url, SAAS_SQL);
    psql(rt.dst.url, SAAS_SQL);
    dstBefore = await snapshotOf('postgres', rt.dst.url);
    await roundTrip(rt, 'postgres', 'postgres', {}, { mode: 'replace', allow_lossy: allowLossy });
    if (process.env.REV15_VERBOSE) console.log(outcome(rt.restore), JSON.stringify((rt.restore as Json)?.data?.lossy ?? (rt.restore as Json)?.error?.details));
  }, 180_000);
  afterAll(async () => { await rt?.close(); });

  it('either the same catalog as the source, or every loss listed, or a refusal that leaves the target as it was', () => {
    if (!rt.restore!.ok) {
      expect(differences(dstBefore, rt.after!), outcome(rt.restore)).toEqual([]);
      // Refused by the plan, before anything is touched: what it would lose, or the views in the way of its DROP TABLE.
      const error = (rt.restore as Json).error;
      expect(allowLossy ? error.details.dependents : error.details.lossy, outcome(rt.restore)).toEqual(expect.arrayContaining([allowLossy ? 'view app.active_user' : expect.objectContaining({ table: 'app.active_user' })]));
      expect(rt.restore!.ok ? '' : (rt.restore as Json).error.code).not.toBe('INTERNAL');
      return;
    }
    const lossy = ((rt.restore as Json).data.lossy ?? []) as Array<{ table: string; what: string }>;
    const lost = differences(rt.before!, rt.after!).filter((l) => !l.startsWith('triggers: ') || !l.includes('citext'));
    const unlisted = lost.filter((l) => !lossy.some((x) => l.includes(x.table)));
    expect({ lossy, unlisted }).toEqual({ lossy, unlisted: [] });
  });
});

}

describe('SQLite native restore while another connection has the (empty) target open', () => {
  let rt: RoundTrip;
  let holder: Database.Database;
  beforeAll(async () => {
    rt = await pair(LITE, LITE, 'sqo');
    const src = new Database(rt.src.url.replace(/^sqlite:\/\//, ''));
    src.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE VIEW tv AS SELECT v FROM t; CREATE TRIGGER tt AFTER INSERT ON t BEGIN SELECT 1; END; INSERT INTO t (v) VALUES ('a'); PRAGMA user_version = 7;");
    src.close();
    holder = new Database(rt.dst.url.replace(/^sqlite:\/\//, ''));
    holder.prepare('SELECT 1').get();
    await roundTrip(rt, 'sqlite', 'sqlite', { format: 'native' });
  }, 60_000);
  afterAll(async () => { holder?.close(); await rt?.close(); });

  it('the view (and user_version) come back, or their loss is listed in lossy', () => {
    expect(outcome(rt.restore)).toBe('ok');
    const lossy = ((rt.restore as Json).data.lossy ?? []) as Array<{ table: string }>;
    const missing = differences(rt.before!, rt.after!).filter((l) => !lossy.some((x) => l.includes(x.table)));
    expect({ lossy, missing }).toEqual({ lossy, missing: [] });
    const uv = holder.pragma('user_version', { simple: true });
    if (!lossy.some((x) => /user_version/.test(JSON.stringify(x)))) expect(uv).toBe(7);
  });
});
