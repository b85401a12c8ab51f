/**
 * Every tool through the nodes of a 3-node MariaDB Galera cluster (test/topology/galera.ts)
 * that requires primary keys (wsrep_mode=REQUIRED_PRIMARY_KEY): each works or refuses with
 * a stable code that says why; get_connection describes the node; causal reads see a write
 * made on another node; a node out of the primary component refuses with a clear code.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';
import { startGalera, type Galera } from './galera.js';

const mysqlBackend = BACKENDS.find((b) => b.name === 'mysql');

// The nodes run as the mysql OS user (galera.ts): the harness needs root to hand them their directories.
describe.runIf(mysqlBackend && process.getuid?.() === 0)('a MariaDB Galera cluster', () => {
  let g: Galera;
  let h: Harness;
  let source: { url: string; drop(): Promise<void> };
  const migrations = tempDir('cmx-galera-mig-');
  const backups = tempDir('cmx-galera-bak-');

  const code = async (tool: string, args: Record<string, unknown>): Promise<string> => {
    const r = await callTool(h.client, tool, args);
    return r.ok ? 'ok' : r.error.code;
  };

  beforeAll(async () => {
    g = await startGalera(3, { wsrepMode: 'REQUIRED_PRIMARY_KEY' });
    console.log(`[galera] 3 nodes Synced in ${g.startMs} ms`);
    source = await freshDatabase(mysqlBackend!, 'galera_src');
    const [n1, n2, n3] = g.nodes.map((n) => n.url);
    h = await startInProcess({
      n1: { url: n1!, migrations_dir: migrations },
      n2: { url: `${n2}?causal_reads=true`, migrations_dir: migrations },
      n2plain: { url: n2! },
      n2ro: { url: `${n2}?causal_reads=true`, read_only: true },
      n3: { url: n3!, migrations_dir: migrations },
      n3ro: { url: n3!, read_only: true },
      src: { url: source.url },
      srcCausal: { url: `${source.url}?causal_reads=true` },
    }, { backup_dir: backups });
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await source?.drop();
    await g?.stop();
    for (const dir of [migrations, backups]) rmSync(dir, { recursive: true, force: true });
  });

  it('get_connection describes each node: Galera, Synced, ready, in a primary view of 3', async () => {
    for (const [name, causal] of [['n1', false], ['n2', true], ['n3ro', false]] as const) {
      const r = await mustCall(h.client, 'get_connection', { connection: name });
      expect(r.replication, name).toEqual({ kind: 'galera', writable: true, state: 'Synced', ready: true, cluster_size: 3, primary: true, causal_reads: causal });
    }
    // A single server says nothing of replication: the common case stays compact.
    expect((await mustCall(h.client, 'get_connection', { connection: 'src' })).replication).toBeUndefined();
    // Causal reads on a server that is no Galera node would set a variable that does nothing (MySQL: fail every session).
    const r = await callTool(h.client, 'get_connection', { connection: 'srcCausal' });
    expect(r.ok ? 'ok' : [r.error.code, r.error.details.parameter]).toEqual(['UNSUPPORTED', 'causal_reads']);
  });

  it('runs statements and transactions on one node and reads them on the others', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'n1', query: 'CREATE TABLE items (id integer PRIMARY KEY, name varchar(40))' });
    await mustCall(h.client, 'execute_transaction', { connection: 'n1', queries: [
      { query: 'INSERT INTO items VALUES (1, ?)', params: ['one'] },
      { query: 'INSERT INTO items VALUES (2, ?)', params: ['two'] },
    ] });
    const read = await mustCall(h.client, 'execute_query', { connection: 'n2', query: 'SELECT id, name FROM items ORDER BY id' });
    expect(rowsOf(read)).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'n3ro', query: 'SELECT count(*) AS n FROM items' }))).toEqual([{ n: 2 }]);
    expect(await code('execute_query', { connection: 'n3ro', query: 'DELETE FROM items' })).toBe('READ_ONLY_VIOLATION');
  });

  it('refuses a table without a primary key with UNSUPPORTED that says why, by SQL and by create_table', async () => {
    const bySql = await callTool(h.client, 'execute_query', { connection: 'n1', query: 'CREATE TABLE keyless (a integer)' });
    expect(bySql.ok ? 'ok' : [bySql.error.code, bySql.error.details.errno]).toEqual(['UNSUPPORTED', 4165]);
    expect(bySql.ok ? '' : bySql.error.message).toMatch(/REQUIRED_PRIMARY_KEY.*primary key/);
    expect(await code('create_table', { connection: 'n1', schema: { table: 'keyless2', columns: [{ name: 'a', type: 'integer' }] } })).toBe('UNSUPPORTED');
    await mustCall(h.client, 'create_table', { connection: 'n1', schema: { table: 'keyed', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'v', type: 'text' }] } });
    await mustCall(h.client, 'alter_table', { connection: 'n2', table: 'keyed', changes: { add_columns: [{ name: 'note', type: 'varchar(20)' }] } });
    const schema = await mustCall(h.client, 'get_schema', { connection: 'n3', table: 'keyed' });
    expect(JSON.stringify(schema)).toContain('"note"');
  });

  it('applies migrations on one node (every table of the server\'s own has a primary key) and reports them on another', async () => {
    await mustCall(h.client, 'create_migration', { connection: 'n1', name: 'people', up: 'CREATE TABLE people (id integer PRIMARY KEY, name varchar(50))', down: 'DROP TABLE people' });
    await mustCall(h.client, 'create_migration', { connection: 'n1', name: 'pets', up: 'CREATE TABLE pets (id integer PRIMARY KEY);\nINSERT INTO pets VALUES (1)', down: 'DROP TABLE pets' });
    const run = await mustCall(h.client, 'run_migration', { connection: 'n1' });
    expect((run.applied as Array<{ name: string }>).map((a) => a.name)).toEqual(['people', 'pets']);
    // Another node may lag the commit by a moment (see the causal reads test): asked until it has it.
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      status = await mustCall(h.client, 'get_migration_status', { connection: 'n2' });
      if (Array.isArray(status.problems) && status.problems.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status.problems).toEqual([]);
    expect((await mustCall(h.client, 'list_migrations', { connection: 'n3' })).migrations).toMatchObject([{ status: 'applied' }, { status: 'applied' }]);
    await mustCall(h.client, 'rollback_migration', { connection: 'n2' });
    expect(await code('execute_query', { connection: 'n3', query: 'SELECT * FROM pets' })).toBe('UNDEFINED_OBJECT');
    await mustCall(h.client, 'run_migration', { connection: 'n3' });
  });

  it('backs up through one node and restores through another, portable and native', async () => {
    await mustCall(h.client, 'create_backup', { database: 'n1', tables: ['items'], output_path: 'items.cmx.gz' });
    const restored = await mustCall(h.client, 'restore_backup', { database: 'n2', backup_path: 'items.cmx.gz', mode: 'replace' });
    expect(restored.tables).toMatchObject([{ name: 'items', rows: 2 }]);
    await mustCall(h.client, 'create_backup', { database: 'n1', format: 'native', output_path: 'whole.sql.gz' });
    await mustCall(h.client, 'restore_backup', { database: 'n3', backup_path: 'whole.sql.gz', mode: 'replace' });
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'n1', query: 'SELECT count(*) AS n FROM items' }))).toEqual([{ n: 2 }]);
    expect((await mustCall(h.client, 'list_backups', { database: 'n1' })).backups).toHaveLength(2);
  });

  it('refuses to restore a table without a primary key before touching anything', async () => {
    await mustCall(h.client, 'execute_query', { connection: 'src', query: 'CREATE TABLE items (id integer, name varchar(40))' });
    await mustCall(h.client, 'execute_query', { connection: 'src', query: "INSERT INTO items VALUES (9, 'nine')" });
    await mustCall(h.client, 'create_backup', { database: 'src', tables: ['items'], output_path: 'keyless.cmx.gz' });
    const r = await callTool(h.client, 'restore_backup', { database: 'n1', backup_path: 'keyless.cmx.gz', mode: 'replace' });
    expect(r.ok ? 'ok' : [r.error.code, r.error.details.reason]).toEqual(['UNSUPPORTED', 'primary_key_required']);
    // mode replace would have dropped the cluster's items first: they are still there.
    expect(rowsOf(await mustCall(h.client, 'execute_query', { connection: 'n2', query: 'SELECT count(*) AS n FROM items' }))).toEqual([{ n: 2 }]);
  });

  it('runs the performance tools through a node', async () => {
    const m = await mustCall(h.client, 'monitor_query_performance', { connection: 'n1', query: 'SELECT * FROM items WHERE name = ?', params: ['one'], runs: 2 });
    expect(m.runs).toBeDefined();
    expect((await mustCall(h.client, 'analyze_slow_queries', { connection: 'n1', threshold: 0 })).connection).toBe('n1');
    expect((await mustCall(h.client, 'get_database_stats', { connection: 'n2' })).table_count).toBeGreaterThanOrEqual(4);
  });

  it('with causal_reads every session waits for the cluster: reads right after a write on another node are fresh, 30 of 30', async () => {
    const wait = async (name: string): Promise<unknown> => rowsOf(await mustCall(h.client, 'execute_query', { connection: name, query: 'SELECT @@SESSION.wsrep_sync_wait AS w' }))[0]?.w;
    // Several calls: each on a new session, or a reset one without causal reads.
    for (let i = 0; i < 5; i++) expect([await wait('n2'), await wait('n2plain')]).toEqual([1, 0]);
    await mustCall(h.client, 'execute_query', { connection: 'n1', query: 'CREATE TABLE counter (id integer PRIMARY KEY, v integer)' });
    await mustCall(h.client, 'execute_query', { connection: 'n1', query: 'INSERT INTO counter VALUES (1, 0)' });
    const round = async (reader: string, i: number): Promise<boolean> => {
      await mustCall(h.client, 'execute_query', { connection: 'n1', query: 'UPDATE counter SET v = ? WHERE id = 1', params: [i] });
      const r = await mustCall(h.client, 'execute_query', { connection: reader, query: 'SELECT v FROM counter WHERE id = 1' });
      return rowsOf(r)[0]?.v === i;
    };
    // Causal connections take a new session per call: MariaDB 10.11 skips the wait on a reset one (pool.ts).
    const fresh = { n2: 0, n2ro: 0, n2plain: 0 };
    let i = 0;
    for (let k = 0; k < 30; k++) for (const reader of ['n2', 'n2ro', 'n2plain'] as const) if (await round(reader, ++i)) fresh[reader]++;
    // Without causal reads staleness depends on timing (10% of reads here, sometimes none): printed, not asserted.
    console.log(`[galera] reads on another node right after a write, fresh of 30: causal_reads ${fresh.n2}, read-only with causal_reads ${fresh.n2ro}, without ${fresh.n2plain}`);
    expect([fresh.n2, fresh.n2ro]).toEqual([30, 30]);
  });

  it('a node out of the primary component refuses queries with CONNECTION_FAILED (node_not_ready), and says so in get_connection', async () => {
    // Two of three nodes gone at once: the last one has no quorum and stops serving.
    await Promise.all([g.nodes[1]!.stop('kill'), g.nodes[2]!.stop('kill')]);
    let state: Record<string, unknown> | undefined;
    for (let i = 0; i < 200; i++) {
      state = (await mustCall(h.client, 'get_connection', { connection: 'n1' })).replication as Record<string, unknown>;
      if (state.ready === false) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toMatchObject({ kind: 'galera', writable: false, ready: false, primary: false });
    const r = await callTool(h.client, 'execute_query', { connection: 'n1', query: 'SELECT * FROM items' });
    expect(r.ok ? 'ok' : [r.error.code, r.error.details.cause]).toEqual(['CONNECTION_FAILED', 'node_not_ready']);
    expect(r.ok ? '' : r.error.message).toMatch(/not in the primary component/);
  });
});
