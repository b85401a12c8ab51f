/**
 * A private PgBouncer (Debian's /usr/sbin/pgbouncer) in front of a PostgreSQL server, for
 * the topology tests (issue 17). STOCK settings: only what it cannot start without (where
 * to listen, how to authenticate, which server, the pool mode) is written; everything
 * else, ignore_startup_parameters included, keeps PgBouncer's default, as on a hosted
 * pooler nobody tuned for us.
 *
 * auth_type=trust with a userlist naming the roles (PgBouncer's trust still wants the name
 * in auth_file); the target server is the shared trust-auth PostgreSQL by default.
 * PgBouncer refuses to run as root, so it runs as the `postgres` OS user, in its own temp
 * directory (config, userlist, pid, log, unix socket) on a free port.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../faults/private-db.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export type PoolMode = 'session' | 'transaction';

export interface PgBouncerOptions {
  /** statement: only for the test that shows it refused (pgbouncer-statement.test.ts). */
  mode: PoolMode | 'statement';
  /** The PostgreSQL server behind it. Default: the shared one, 127.0.0.1:5432. */
  target?: { host: string; port: number };
  /** Roles allowed in (trust, no password). Default: ['postgres']. */
  users?: string[];
  /** default_pool_size (PgBouncer's default: 20). Small pools make transaction mode's sharing visible. */
  poolSize?: number;
}

export interface PgBouncer {
  port: number;
  mode: PoolMode | 'statement';
  /** A postgres:// URL to `db` through the pooler (user postgres unless given). */
  url(db: string, user?: string): string;
  /** PgBouncer's own log (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export async function startPgBouncer(opts: PgBouncerOptions): Promise<PgBouncer> {
  const target = opts.target ?? { host: '127.0.0.1', port: 5432 };
  const users = opts.users ?? ['postgres'];
  const dir = mkdtempSync(join(tmpdir(), 'cmx-topo-pgb-'));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const logFile = join(dir, 'pgbouncer.log');
  writeFileSync(join(dir, 'userlist.txt'), users.map((u) => `"${u}" ""\n`).join(''));
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${target.host} port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `pool_mode = ${opts.mode}`,
      ...(opts.poolSize ? [`default_pool_size = ${opts.poolSize}`] : []),
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
  chownSync(dir, uid, gid);
  const child: ChildProcess = spawn(PGBOUNCER_BIN, [ini], { stdio: 'ignore', uid, gid });
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (exited()) throw new Error(`pgbouncer exited at start: ${log().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  return {
    port,
    mode: opts.mode,
    url: (db, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${db}`,
    log,
    async stop() {
      if (!exited()) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        // SIGINT: PgBouncer's immediate shutdown (SIGTERM waits for clients to leave).
        child.kill('SIGINT');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (!exited()) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
