/**
 * Private database servers for fault tests that restart their database: the shared
 * servers on 5432/3306 serve every other test file (and other people's runs), so a
 * restart there would break them. Each instance lives in its own temp directory on a
 * free port and is removed by destroy().
 *
 * PostgreSQL 15: initdb + pg_ctl as the `postgres` OS user (we run as root), trust
 * auth, fsync off (a killed server keeps what it wrote to the OS; only an OS crash
 * would lose it). MariaDB: mariadb-install-db, then mariadbd as a child of this
 * process, root with an empty password over TCP.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

/** graceful: PG `pg_ctl stop -m fast`, MariaDB SIGTERM. kill: PG `-m immediate` (crash recovery on start), MariaDB SIGKILL. */
export type StopMode = 'graceful' | 'kill';

export interface PrivateDb {
  backend: 'postgres' | 'mysql';
  url: string;
  port: number;
  stop(mode: StopMode): Promise<void>;
  /** Starts the server and resolves once it accepts queries. */
  start(): Promise<void>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

/** Ports freePort gave this process: the kernel may hand the same free port out twice in a row. */
const given = new Set<number>();

/**
 * A port nothing listens on now, and one this process was not given before: a Galera test
 * asks for twelve at once, and two nodes got the same one (the third failed to bind).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (given.has(port)) continue;
    given.add(port);
    return port;
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startPrivatePostgres(): Promise<PrivateDb> {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-faults-pg-'));
  chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const data = join(dir, 'data');
  await runAsPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const db = postgresInDir(dir, data, await freePort());
  await db.start();
  return db;
}

/** Runs a PostgreSQL program as the `postgres` OS user (initdb and pg_ctl refuse root). */
export const runAsPostgres = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });

/** Path of a PostgreSQL 15 program (initdb, pg_ctl, pg_basebackup …). */
export const pgBin = (name: string): string => `${PG_BIN}/${name}`;

/**
 * A private server over an existing data directory `data` (inside `dir`, which destroy()
 * removes), on `port`; not started. A standby's data directory (pg_basebackup -R) works too.
 */
export function postgresInDir(dir: string, data: string, port: number): PrivateDb {
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50`;
  let running = false;
  const db: PrivateDb = {
    backend: 'postgres',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await runAsPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
      running = true;
    },
    async stop(mode) {
      await runAsPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-m', mode === 'kill' ? 'immediate' : 'fast', '-w', '-t', '30', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await db.stop('kill').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return db;
}

export async function startPrivateMariadb(): Promise<PrivateDb> {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-faults-my-'));
  const data = join(dir, 'data');
  // Its own temporary directory: at start mariadbd deletes every `#sql*` file in its tmpdir,
  // and with the default (/tmp) those are the shared server's temporary tables in use
  // ("Error on delete of '/tmp/#sql-temptable-…'" in other tests' information_schema reads).
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  const port = await freePort();
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, `--tmpdir=${scratch}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { timeout: 120_000 });
  const args = [
    '--no-defaults', `--datadir=${data}`, `--tmpdir=${scratch}`, `--port=${port}`, `--socket=${join(dir, 'sock')}`, '--bind-address=127.0.0.1',
    '--user=root', '--skip-name-resolve', '--skip-log-bin', `--pid-file=${join(dir, 'pid')}`, `--log-error=${join(dir, 'error.log')}`,
    '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M',
    // Written to the OS at each commit: a killed server loses nothing, only an OS crash could.
    '--innodb-flush-log-at-trx-commit=2', '--innodb-buffer-pool-dump-at-shutdown=OFF', '--innodb-buffer-pool-load-at-startup=OFF',
  ];
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess): Promise<void> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r())));
  const db: PrivateDb = {
    backend: 'mysql',
    // A database of its own: on a connection to the `mysql` schema itself only reads run (SPEC §6).
    url: `mysql://root@127.0.0.1:${port}/cmx_faults`,
    port,
    async start() {
      const c = spawn('/usr/sbin/mariadbd', args, { stdio: 'ignore' });
      child = c;
      const { default: mysql } = await import('mysql2/promise');
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`mariadbd exited at start (see ${join(dir, 'error.log')})`);
        try {
          const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
          await conn.query('CREATE DATABASE IF NOT EXISTS cmx_faults');
          await conn.end();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(30);
        }
      }
    },
    async stop(mode) {
      const c = child;
      if (!c) return;
      child = undefined;
      c.kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
      await exited(c);
    },
    async destroy() {
      await db.stop('kill').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await db.start();
  return db;
}

/** The numeric uid (-u) or gid (-g) of an OS user. */
export function osUser(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}
const uidOf = (user: string): number => osUser('-u', user);
const gidOf = (user: string): number => osUser('-g', user);
