/**
 * A private PostgreSQL 15 primary with a streaming hot standby (issue 17), both in temp
 * directories on free ports, fsync off. The standby is a `pg_basebackup -R -X stream` copy
 * of the primary (initdb's default pg_hba trusts replication from 127.0.0.1; wal_level
 * replica, max_wal_senders and hot_standby are PostgreSQL 15's defaults).
 */
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, osUser, pgBin, postgresInDir, runAsPostgres, startPrivatePostgres, type PrivateDb } from '../faults/private-db.js';

export interface PrimaryWithStandby {
  primary: PrivateDb;
  standby: PrivateDb;
  /** postgres:// URLs to database `db` (default postgres) on each. */
  primaryUrl(db?: string): string;
  standbyUrl(db?: string): string;
  /** Bytes of WAL the standby has not replayed yet, as the primary sees it (null: not streaming). */
  lagProbe(): Promise<number | null>;
  /** Resolves once the standby has replayed everything the primary had written when called. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** Promotes the standby to a primary of its own (pg_ctl promote), and waits for it. */
  promote(): Promise<void>;
  stop(): Promise<void>;
}

const withDb = (url: string, db: string): string => url.replace(/\/[^/]*$/, `/${db}`);

export async function startPrimaryWithStandby(): Promise<PrimaryWithStandby> {
  const primary = await startPrivatePostgres();
  const dir = mkdtempSync(join(tmpdir(), 'cmx-topo-standby-'));
  chownSync(dir, osUser('-u', 'postgres'), osUser('-g', 'postgres'));
  const data = join(dir, 'data');
  let standby: PrivateDb | undefined;
  try {
    await runAsPostgres([pgBin('pg_basebackup'), '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync']);
    standby = postgresInDir(dir, data, await freePort());
    await standby.start();
  } catch (err) {
    await standby?.destroy();
    await primary.destroy();
    throw err;
  }
  const sb = standby;
  const admin = postgres(primary.url, { max: 1, onnotice: () => undefined });
  const standbyAdmin = postgres(sb.url, { max: 1, onnotice: () => undefined });
  const lagProbe = async (): Promise<number | null> => {
    const rows = await admin`select pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as lag from pg_stat_replication`;
    return rows.length ? Number(rows[0]!.lag) : null;
  };
  const self: PrimaryWithStandby = {
    primary,
    standby: sb,
    primaryUrl: (db = 'postgres') => withDb(primary.url, db),
    standbyUrl: (db = 'postgres') => withDb(sb.url, db),
    lagProbe,
    async waitForReplay(timeoutMs = 15_000) {
      const [{ lsn }] = (await admin`select pg_current_wal_lsn()::text as lsn`) as unknown as [{ lsn: string }];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [{ done }] = (await standbyAdmin`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as done`) as unknown as [{ done: boolean }];
        if (done) return;
        if (Date.now() > deadline) throw new Error(`standby did not replay up to ${lsn} in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async promote() {
      await runAsPostgres([pgBin('pg_ctl'), '-D', data, '-w', '-t', '30', 'promote']);
    },
    async stop() {
      await Promise.allSettled([admin.end({ timeout: 1 }), standbyAdmin.end({ timeout: 1 })]);
      await sb.destroy();
      await primary.destroy();
    },
  };
  await self.waitForReplay();
  return self;
}
