/**
 * The security suite's witness: a fixture database per backend with its own account,
 * a peer session of that account, and a probe that reads every effect an attack could
 * leave behind through channels the server under test does not control (raw drivers,
 * the file system). Each check returns the list of effects found, never throws.
 */
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MYSQL_URL, PG_URL, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, type Harness, rowsOf } from '../support/mcp.js';

type Json = Record<string, any>;
export const LOCK_NAME = 'cmx_sec_lock';
export const PASSWORD = 'Sec-pw-1';

export interface Fixture {
  backend: TestBackend['name'];
  /** URL of the fixture database as the fixture account. */
  url: string;
  /** The account (PG role / MySQL user) the tools run as; null for SQLite. */
  account: string | null;
  /** Directory that attacks aim their files at (world-writable, so the database server could write there). */
  outDir: string;
  /** Directories whose listing must not change (attack target, SQLite database dir, migrations). */
  watched: string[];
  migrationsDir: string;
  /** Process id / thread id of the peer session, for kill attempts. */
  peerId(): number | null;
  /** `SELECT 1` on the peer session; reopens it (and says so) when it died. */
  peerAlive(): Promise<boolean>;
  /** Row counts per fixture table, read through a raw admin connection. */
  rowCounts(): Promise<Record<string, number>>;
  /** Advisory / named locks held by anyone in the fixture database. */
  locksHeld(): Promise<number>;
  /** A brand-new raw connection as the fixture account works. */
  canLogin(): Promise<boolean>;
  /** Puts the fixture tables back as created (after a read-write case changed them legitimately). */
  restore(): Promise<void>;
  drop(): Promise<void>;
}

export const TABLES = ['victim', 'victim_log'];

const SETUP = [
  'CREATE TABLE victim (id integer PRIMARY KEY, v varchar(50))',
  'CREATE TABLE victim_log (id integer PRIMARY KEY)',
];
const FILL = ["INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')", 'INSERT INTO victim_log VALUES (1)'];

export async function createFixture(backend: TestBackend): Promise<Fixture> {
  const outDir = tempDir('cmx-sec-out-');
  chmodSync(outDir, 0o777);
  const migrationsDir = tempDir('cmx-sec-mig-');
  const make = backend.name === 'sqlite' ? sqliteFixture : backend.name === 'postgres' ? postgresFixture : mysqlFixture;
  const f = await make(backend, outDir, migrationsDir);
  // The world-writable target directory does not outlive the run.
  const drop = f.drop;
  return { ...f, drop: async () => { await drop(); rmSync(outDir, { recursive: true, force: true }); rmSync(migrationsDir, { recursive: true, force: true }); } };
}

async function sqliteFixture(backend: TestBackend, outDir: string, migrationsDir: string): Promise<Fixture> {
  const { default: Database } = await import('better-sqlite3');
  const url = backend.url();
  const file = url.replace(/^sqlite:\/\//, '');
  const admin = new Database(file);
  for (const s of [...SETUP, ...FILL]) admin.exec(s);
  const dbDir = file.replace(/\/[^/]*$/, '');
  return {
    backend: 'sqlite', url, account: null, outDir, migrationsDir, watched: [outDir, dbDir, migrationsDir],
    peerId: () => null,
    peerAlive: async () => true,
    rowCounts: async () => Object.fromEntries(TABLES.map((t) => [t, tableCount(() => admin.prepare(`SELECT count(*) AS n FROM ${t}`).get() as Json)])),
    locksHeld: async () => 0,
    canLogin: async () => { const d = new Database(file, { readonly: true }); d.prepare('SELECT 1').get(); d.close(); return true; },
    restore: async () => {
      const names = (admin.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'codomyrmex_%'").all() as Json[]).map((r) => r.name as string);
      for (const n of names) if (!TABLES.includes(n)) admin.exec(`DROP ${isView(admin, n) ? 'VIEW' : 'TABLE'} IF EXISTS "${n.replaceAll('"', '""')}"`);
      admin.exec('PRAGMA writable_schema = 0');
      for (const t of TABLES) admin.exec(`DROP TABLE IF EXISTS ${t}`);
      for (const s of [...SETUP, ...FILL]) admin.exec(s);
    },
    drop: async () => { admin.close(); },
  };
}

function isView(db: import('better-sqlite3').Database, name: string): boolean {
  return (db.prepare('SELECT type FROM sqlite_master WHERE name = ?').get(name) as Json | undefined)?.type === 'view';
}

function tableCount(read: () => Json): number {
  try { return Number(read().n); } catch { return -1; }
}

async function postgresFixture(backend: TestBackend, outDir: string, migrationsDir: string): Promise<Fixture> {
  const { default: postgres } = await import('postgres');
  const db = await freshDatabase(backend, 'sec');
  const role = `cmx_sec_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const root = postgres(PG_URL, { max: 1, onnotice: () => undefined });
  // A superuser of our own: COPY PROGRAM, lo_export and pg_terminate_backend all really work for it.
  await root.unsafe(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  await root.end();
  const dbName = db.url.replace(/^.*\//, '');
  // Same server as the admin URL (TEST_PG_URL may point elsewhere than 127.0.0.1:5432).
  const url = `postgres://${role}:${PASSWORD}@${new URL(PG_URL).host}/${dbName}`;
  const adminUrl = db.url;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  for (const s of [...SETUP, ...FILL]) await admin.unsafe(s);
  await admin.unsafe(`ALTER TABLE victim OWNER TO ${role}`);
  await admin.unsafe(`ALTER TABLE victim_log OWNER TO ${role}`);
  let peer = postgres(url, { max: 1, onnotice: () => undefined, idle_timeout: 0 });
  let peerPid = Number((await peer`SELECT pg_backend_pid() AS p`)[0].p);
  return {
    backend: 'postgres', url, account: role, outDir, migrationsDir, watched: [outDir, migrationsDir],
    peerId: () => peerPid,
    peerAlive: async () => {
      try {
        const r = await peer`SELECT pg_backend_pid() AS p`;
        return Number(r[0].p) === peerPid;
      } catch {
        await peer.end({ timeout: 1 }).catch(() => undefined);
        peer = postgres(url, { max: 1, onnotice: () => undefined, idle_timeout: 0 });
        peerPid = Number((await peer`SELECT pg_backend_pid() AS p`)[0].p);
        return false;
      }
    },
    rowCounts: async () => {
      const out: Record<string, number> = {};
      for (const t of TABLES) out[t] = await admin.unsafe(`SELECT count(*)::int AS n FROM ${t}`).then((r) => Number(r[0].n), () => -1);
      return out;
    },
    // pg_locks is cluster-wide: other databases' migrations hold advisory locks of their own.
    locksHeld: async () => Number((await admin.unsafe(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`))[0].n),
    canLogin: async () => {
      const c = postgres(url, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
      try { await c`SELECT 1`; return true; } catch { return false; } finally { await c.end({ timeout: 1 }).catch(() => undefined); }
    },
    restore: async () => {
      await admin.unsafe(`ALTER ROLE ${role} LOGIN PASSWORD '${PASSWORD}'`);
      const extra = await admin.unsafe(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r','v','m') AND c.relname NOT LIKE 'codomyrmex_%'`);
      for (const r of extra) if (!TABLES.includes(r.relname)) await admin.unsafe(`DROP ${r.relkind === 'v' ? 'VIEW' : r.relkind === 'm' ? 'MATERIALIZED VIEW' : 'TABLE'} IF EXISTS "${String(r.relname).replaceAll('"', '""')}" CASCADE`);
      for (const t of TABLES) await admin.unsafe(`DROP TABLE IF EXISTS ${t} CASCADE`);
      for (const s of [...SETUP, ...FILL]) await admin.unsafe(s);
      await admin.unsafe(`ALTER TABLE victim OWNER TO ${role}`);
      await admin.unsafe(`ALTER TABLE victim_log OWNER TO ${role}`);
    },
    drop: async () => {
      await peer.end({ timeout: 1 }).catch(() => undefined);
      await admin.end({ timeout: 1 }).catch(() => undefined);
      await db.drop();
      const r = postgres(PG_URL, { max: 1, onnotice: () => undefined });
      await r.unsafe(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await r.end();
    },
  };
}

async function mysqlFixture(backend: TestBackend, outDir: string, migrationsDir: string): Promise<Fixture> {
  const { default: mysql } = await import('mysql2/promise');
  const db = await freshDatabase(backend, 'sec');
  const dbName = db.url.replace(/^.*\//, '');
  const user = `cmx_sec_${process.pid % 100000}_${Math.random().toString(36).slice(2, 5)}`;
  const root = await mysql.createConnection(MYSQL_URL);
  // Our own account (never root: a SET PASSWORD that got through would lock everyone out).
  // FILE makes INTO OUTFILE / LOAD_FILE really work for it; it can KILL its own peer.
  await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await root.query(`GRANT ALL ON \`${dbName}\`.* TO '${user}'@'%'`);
  await root.query(`GRANT FILE ON *.* TO '${user}'@'%'`);
  const url = `mysql://${user}:${PASSWORD}@${new URL(MYSQL_URL).host}/${dbName}`;
  const admin = await mysql.createConnection(db.url);
  for (const s of [...SETUP, ...FILL]) await admin.query(s);
  const connectPeer = async () => mysql.createConnection(url);
  let peer = await connectPeer();
  let peerId = peer.threadId ?? 0;
  return {
    backend: 'mysql', url, account: user, outDir, migrationsDir, watched: [outDir, migrationsDir],
    peerId: () => peerId,
    peerAlive: async () => {
      try { await peer.query('SELECT 1'); return true; } catch {
        peer.destroy();
        peer = await connectPeer();
        peerId = peer.threadId ?? 0;
        return false;
      }
    },
    rowCounts: async () => {
      const out: Record<string, number> = {};
      for (const t of TABLES) out[t] = await admin.query(`SELECT count(*) AS n FROM ${t}`).then(([r]) => Number((r as Json[])[0].n), () => -1);
      return out;
    },
    locksHeld: async () => {
      const [r] = await admin.query('SELECT IS_FREE_LOCK(?) AS f', [LOCK_NAME]);
      return Number((r as Json[])[0].f) === 1 ? 0 : 1;
    },
    canLogin: async () => {
      try { const c = await mysql.createConnection({ uri: url, connectTimeout: 5000 }); await c.query('SELECT 1'); await c.end(); return true; } catch { return false; }
    },
    restore: async () => {
      await root.query(`ALTER USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}' ACCOUNT UNLOCK`);
      const [extra] = await admin.query(`SELECT table_name AS n, table_type AS k FROM information_schema.tables WHERE table_schema = ? AND table_name NOT LIKE 'codomyrmex\\_%'`, [dbName]);
      for (const r of extra as Json[]) if (!TABLES.includes(r.n)) await admin.query(`DROP ${r.k === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS \`${String(r.n).replaceAll('`', '``')}\``);
      for (const t of TABLES) await admin.query(`DROP TABLE IF EXISTS ${t}`);
      for (const s of [...SETUP, ...FILL]) await admin.query(s);
    },
    drop: async () => {
      peer.destroy();
      await admin.end();
      await db.drop();
      await root.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await root.end();
    },
  };
}

/** What the next call on a connection sees of its session: must not change across attacks. */
export const SESSION_PROBE: Record<TestBackend['name'], string> = {
  postgres: `SELECT current_setting('search_path') AS sp, current_user AS u, session_user AS su, current_setting('application_name') AS an,
    current_setting('statement_timeout') AS st, current_setting('client_encoding') AS ce, current_setting('DateStyle') AS ds,
    current_setting('role') AS r, (SELECT count(*) FROM pg_prepared_statements)::int AS ps, (SELECT count(*) FROM pg_listening_channels())::int AS lc,
    (SELECT count(*) FROM pg_cursors)::int AS cur, (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())::int AS locks`,
  mysql: 'SELECT @@sql_mode AS sm, @@autocommit AS ac, CURRENT_USER() AS u, @@character_set_client AS cs, @@time_zone AS tz, @@max_statement_time AS mst, @@foreign_key_checks AS fk, @@sql_log_bin AS slb',
  sqlite: 'SELECT (SELECT count(*) FROM pragma_database_list) AS dbs, (SELECT foreign_keys FROM pragma_foreign_keys) AS fk, (SELECT query_only FROM pragma_query_only) AS qo, (SELECT count(*) FROM sqlite_temp_master) AS temps',
};

export interface Snapshot {
  rows: Record<string, number>;
  schema: string;
  files: string[];
}

/** Hash of get_schema over every table, through the read-write connection. */
export async function schemaHash(h: Harness): Promise<string> {
  const r = await callTool(h.client, 'get_schema', { connection: 'rw', limit: 1000 });
  // A failed read is named as such, so a report tells it apart from a changed schema.
  if (!r.ok) return `get_schema failed: ${r.error.code} ${r.error.message}`;
  const body = JSON.stringify((r.data.tables as Json[]).filter((t) => !String(t.table).startsWith('codomyrmex_')));
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

export function listFiles(dirs: string[]): string[] {
  return dirs.flatMap((d) => { try { return readdirSync(d).map((f) => join(d, f)); } catch { return [`${d}:gone`]; } }).sort();
}

export async function snapshot(h: Harness, f: Fixture): Promise<Snapshot> {
  return { rows: await f.rowCounts(), schema: await schemaHash(h), files: listFiles(f.watched) };
}

export async function sessionState(h: Harness, f: Fixture, connection: string): Promise<string> {
  const r = await callTool(h.client, 'execute_query', { connection, query: SESSION_PROBE[f.backend] });
  return r.ok ? JSON.stringify(rowsOf(r.data)) : `error:${r.error.code}:${r.error.message}`;
}
