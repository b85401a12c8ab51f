/**
 * A private MariaDB Galera cluster (galera-4) on this machine, for topology tests.
 *
 * Every node gets its own temp datadir, its own --tmpdir (mariadbd deletes `#sql*` files in
 * its tmpdir at start: with /tmp those would be the shared server's temporary tables) and
 * free ports for the client, group communication (gcomm), IST and SST.
 *
 * The first node is bootstrapped (--wsrep-new-cluster) on a datadir from `mariadb-install-db`;
 * the others start empty and receive their state by rsync SST (Debian's wsrep_sst_rsync, the
 * `rsync` package: no mariabackup needed). The nodes run as the `mysql` OS user: as root,
 * the SST's rsync daemon drops to `nobody` and cannot write the joiner's datadir.
 * `wsrep_sst_method=skip` with copies of one datadir would be faster, but MariaDB 10.11's
 * joiner then waits for ever in "Joining: receiving State Transfer".
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../faults/private-db.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
/** The database every node's URL names (created once the cluster is up). */
export const GALERA_DB = 'cmx_galera';

export interface GaleraNode {
  /** mysql://root@127.0.0.1:<port>/cmx_galera */
  url: string;
  port: number;
  /** Stops this node's mariadbd (SIGTERM: it leaves the cluster cleanly; SIGKILL: it vanishes). */
  stop(mode?: 'graceful' | 'kill'): Promise<void>;
  /** Starts it again; it rejoins and resolves once it is Synced. */
  start(): Promise<void>;
}

export interface Galera {
  nodes: GaleraNode[];
  /** Milliseconds from the call to a Synced cluster of every node (printed by the tests). */
  startMs: number;
  stop(): Promise<void>;
}

export interface GaleraOptions {
  /** wsrep_mode for every node, e.g. 'REQUIRED_PRIMARY_KEY' (MariaDB 10.6+). */
  wsrepMode?: string;
  /** wsrep_sync_wait as every node's global default (sessions start with it). */
  syncWait?: number;
}

interface Ports {
  client: number;
  gcomm: number;
  ist: number;
  sst: number;
}

export async function startGalera(size = 3, options: GaleraOptions = {}): Promise<Galera> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'cmx-galera-'));
  const nodes: NodeProcess[] = [];
  try {
    for (let i = 1; i <= size; i++) for (const sub of ['tmp', 'data']) mkdirSync(join(dir, `node${i}`, sub), { recursive: true });
    chownTree(dir, 'mysql');
    const first = join(dir, 'node1');
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${join(first, 'data')}`, `--tmpdir=${join(first, 'tmp')}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', '--innodb-log-file-size=16M'], { timeout: 120_000 });
    const ports: Ports[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), gcomm: await freePort(), ist: await freePort(), sst: await freePort() });
    const members = ports.map((p) => `127.0.0.1:${p.gcomm}`).join(',');
    for (let i = 0; i < size; i++) nodes.push(new NodeProcess(join(dir, `node${i + 1}`), ports[i]!, members, options));
    await nodes[0]!.launch(true);
    // Joiners at once: the donor queues their SSTs (measured: 14-19 s for 3 nodes, against 22 s one by one).
    await Promise.all(nodes.slice(1).map((node) => node.launch(false)));
    await waitAllSynced(nodes);
    await admin(nodes[0]!.port, `CREATE DATABASE IF NOT EXISTS ${GALERA_DB}`);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    // The nodes' logs go with the directory: the end of each goes into the error instead.
    const logs = nodes.map((n, i) => `node${i + 1}: ${n.logTail()}`).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
  return {
    nodes: nodes.map((n) => ({
      url: `mysql://root@127.0.0.1:${n.port}/${GALERA_DB}`,
      port: n.port,
      stop: (mode = 'graceful') => (mode === 'kill' ? n.kill() : n.terminate()),
      start: async () => {
        await n.launch(false);
        await waitAllSynced(nodes.filter((x) => x.running));
      },
    })),
    startMs: Date.now() - began,
    // Everything goes with the directory: no clean leave needed (SIGTERM costs seconds a node).
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** How long a node may stay Donor/Desynced with every other node Synced before it counts as stuck. */
const STUCK_DONOR_MS = 10_000;

/**
 * Waits until every node sees all of them and says Synced.
 *
 * A donor can stay Donor/Desynced for ever after its state transfer completed: a Galera bug,
 * open upstream ("donor staying in Donor/Desynced after successful SST"). Fresh-clone CI hit
 * it, the joiner's log naming its donor "-1.-1 (left the group)"; an earlier run that seemed
 * to need "more than 60 s" to sync was the same. No joiner waits on such a node, so one that
 * stays Donor/Desynced for `stuckMs` while all the others are Synced is restarted, once; it
 * rejoins from the others.
 */
export async function waitAllSynced(nodes: NodeProcess[], stuckMs = STUCK_DONOR_MS): Promise<void> {
  const deadline = Date.now() + 120_000;
  const restarted = new Set<NodeProcess>();
  let stuckSince: number | undefined;
  for (;;) {
    const states = await Promise.all(nodes.map((n) => n.state()));
    const notSynced = nodes.filter((_, i) => states[i]!.size !== nodes.length || states[i]!.comment !== 'Synced');
    if (notSynced.length === 0) return;
    const stuck = notSynced.length === 1 && states[nodes.indexOf(notSynced[0]!)]!.comment === 'Donor/Desynced' && !restarted.has(notSynced[0]!);
    stuckSince = stuck ? (stuckSince ?? Date.now()) : undefined;
    if (stuckSince !== undefined && Date.now() - stuckSince >= stuckMs) {
      const node = notSynced[0]!;
      process.stderr.write(`[galera] node on ${node.port} stayed Donor/Desynced ${stuckMs} ms with the others Synced: restarting it\n`);
      restarted.add(node);
      stuckSince = undefined;
      await node.terminate();
      await node.launch(false);
    }
    if (Date.now() > deadline) throw new Error(`galera cluster not ${nodes.length} Synced nodes: ${JSON.stringify(states)}`);
    await sleep(100);
  }
}

/** One statement as root on a node, through mysql2 (no pool). */
export async function admin(port: number, sql: string): Promise<unknown[]> {
  const { default: mysql } = await import('mysql2/promise');
  const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000 });
  try {
    const [rows] = await conn.query(sql);
    return rows as unknown[];
  } finally {
    await conn.end();
  }
}

export class NodeProcess {
  private child: ChildProcess | undefined;
  readonly port: number;

  constructor(
    private readonly home: string,
    private readonly ports: Ports,
    private readonly members: string,
    private readonly options: GaleraOptions,
  ) {
    this.port = ports.client;
  }

  /** The last lines of this node's error log (for a failed start). */
  logTail(lines = 15): string {
    try {
      return readFileSync(join(this.home, 'error.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  private args(bootstrap: boolean): string[] {
    const { home, ports } = this;
    const provider = [
      `gmcast.listen_addr=tcp://127.0.0.1:${ports.gcomm}`,
      `ist.recv_addr=127.0.0.1:${ports.ist}`,
      'gcache.size=32M',
      // Loopback only: a vanished peer is noticed within seconds, not the WAN defaults.
      'evs.suspect_timeout=PT3S',
      'evs.inactive_timeout=PT5S',
      'pc.recovery=false',
    ].join(';');
    return [
      '--no-defaults', `--datadir=${join(home, 'data')}`, `--tmpdir=${join(home, 'tmp')}`, `--port=${ports.client}`,
      `--socket=${join(home, 'sock')}`, '--bind-address=127.0.0.1', '--user=mysql', '--skip-name-resolve',
      `--pid-file=${join(home, 'pid')}`, `--log-error=${join(home, 'error.log')}`,
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2',
      '--innodb-buffer-pool-dump-at-shutdown=OFF', '--innodb-buffer-pool-load-at-startup=OFF',
      '--binlog-format=ROW', '--default-storage-engine=InnoDB', '--innodb-autoinc-lock-mode=2',
      '--wsrep-on=ON', `--wsrep-provider=${PROVIDER}`, `--wsrep-cluster-address=gcomm://${this.members}`,
      '--wsrep-cluster-name=cmx', `--wsrep-node-address=127.0.0.1:${ports.gcomm}`,
      `--wsrep-node-incoming-address=127.0.0.1:${ports.client}`, `--wsrep-sst-receive-address=127.0.0.1:${ports.sst}`,
      '--wsrep-sst-method=rsync', `--wsrep-provider-options=${provider}`, '--wsrep-slave-threads=1',
      ...(this.options.wsrepMode ? [`--wsrep-mode=${this.options.wsrepMode}`] : []),
      ...(this.options.syncWait !== undefined ? [`--wsrep-sync-wait=${this.options.syncWait}`] : []),
      ...(bootstrap ? ['--wsrep-new-cluster'] : []),
    ];
  }

  /** Starts mariadbd and resolves once it accepts queries with wsrep_ready=ON. */
  async launch(bootstrap: boolean): Promise<void> {
    const c = spawn('/usr/sbin/mariadbd', this.args(bootstrap), { stdio: 'ignore' });
    this.child = c;
    c.once('exit', () => {
      if (this.child === c) this.child = undefined;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.child !== c) throw new Error(`mariadbd exited at start (see ${join(this.home, 'error.log')})`);
      try {
        const rows = (await admin(this.port, "SHOW STATUS LIKE 'wsrep_ready'")) as { Value: string }[];
        if (rows[0]?.Value === 'ON') return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`galera node on ${this.port} not ready (see ${join(this.home, 'error.log')})`);
      await sleep(50);
    }
  }

  /** wsrep_cluster_size and wsrep_local_state_comment as this node sees them ('unreachable: ...' when it does not answer). */
  async state(): Promise<{ port: number; size: number; comment: string }> {
    let rows: unknown[];
    try {
      rows = await admin(this.port, "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment')");
    } catch (err) {
      return { port: this.port, size: 0, comment: `unreachable: ${(err as Error).message}` };
    }
    const status = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
    return { port: this.port, size: Number(status.wsrep_cluster_size), comment: String(status.wsrep_local_state_comment) };
  }

  /** SIGTERM waits for a clean leave, but a node stuck joining ignores it: SIGKILL after 10 s. */
  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.child = undefined;
    const exited = c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(sig);
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  terminate(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }
}

/** chown -R to an OS user (the nodes run as `mysql`); the temp directory itself included. */
function chownTree(path: string, user: string): void {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  chownSync(path, uid, gid);
  execFileSync('chown', ['-R', `${uid}:${gid}`, path]);
}
