/** The topology harnesses themselves: a stock PgBouncer in both modes and a streaming standby come up, serve, and go away. */
import { afterAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { startPgBouncer, type PgBouncer } from './pgbouncer.js';
import { startPrimaryWithStandby } from './standby.js';

// The servers run as the postgres OS user: they need root, as CI has.
describe.skipIf(process.getuid?.() !== 0)('topology harnesses', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  for (const mode of ['session', 'transaction'] as const) {
    it(`stock PgBouncer in ${mode} mode refuses an unknown startup parameter and serves plain connections`, async () => {
      const pgb: PgBouncer = await startPgBouncer({ mode });
      stops.push(() => pgb.stop());
      const plain = postgres(pgb.url('test'), { max: 1, connection: {}, onnotice: () => undefined });
      const [{ one }] = await plain`select 1 as one`;
      expect(one).toBe(1);
      await plain.end();
      const bad = postgres(pgb.url('test'), { max: 1, connection: { statement_timeout: 1000 }, onnotice: () => undefined });
      await expect(bad`select 1`).rejects.toThrow(/unsupported startup parameter/);
      await bad.end({ timeout: 1 });
    });
  }

  it('a primary with a streaming standby: writes replay on the standby, which refuses writes', async () => {
    const t = await startPrimaryWithStandby();
    stops.push(() => t.stop());
    const p = postgres(t.primaryUrl(), { max: 1, onnotice: () => undefined });
    const s = postgres(t.standbyUrl(), { max: 1, onnotice: () => undefined });
    await p`create table smoke(x int)`;
    await p`insert into smoke values (7)`;
    await t.waitForReplay();
    expect((await s`select x from smoke`)[0]!.x).toBe(7);
    expect((await s`select pg_is_in_recovery() as r`)[0]!.r).toBe(true);
    await expect(s`insert into smoke values (8)`).rejects.toMatchObject({ code: '25006' });
    expect(await t.lagProbe()).not.toBeNull();
    await p.end();
    await s.end();
  });
});
