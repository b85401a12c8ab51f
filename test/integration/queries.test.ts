/**
 * The DatabaseManager tools on every backend, through a real MCP client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, uniqueName, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

const TEXT_TYPE = { postgres: 'text', mysql: 'varchar(200)', sqlite: 'text' } as const;
const BLOB_TYPE = { postgres: 'bytea', mysql: 'blob', sqlite: 'blob' } as const;
// SQLite has no decimal type: a decimal column has NUMERIC affinity and rounds long values through REAL.
const DECIMAL_TYPE = { postgres: 'decimal(38, 10)', mysql: 'decimal(38, 10)', sqlite: 'text' } as const;

describe.each(BACKENDS)('queries on $name', (backend: TestBackend) => {
  let h: Harness;
  const table = uniqueName('q');
  const url = backend.url();

  beforeAll(async () => {
    h = await startInProcess({
      rw: { url },
      ro: { url, read_only: true },
      slow: { url, statement_timeout_ms: 1000 },
      cx: { url, pool_size: 1 },
    });
    await mustCall(h.client, 'execute_query', {
      connection: 'rw',
      query: `CREATE TABLE ${table} (id integer PRIMARY KEY, name ${TEXT_TYPE[backend.name]}, amount ${DECIMAL_TYPE[backend.name]}, data ${BLOB_TYPE[backend.name]})`,
    });
  });

  afterAll(async () => {
    await callTool(h.client, 'execute_query', { connection: 'rw', query: `DROP TABLE ${table}` });
    await h.close();
  });

  const count = async (): Promise<number> => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT count(*) AS n FROM ${table}` });
    return Number(rowsOf(r)[0].n);
  };

  it('describes the connection without secrets', async () => {
    const d = await mustCall(h.client, 'get_connection', { connection: 'rw' });
    expect(d.backend).toBe(backend.name);
    expect(String(d.server_version)).not.toBe('');
    expect(d.read_only).toBe(false);
    const list = await mustCall(h.client, 'list_connections');
    const names = (list.connections as Array<{ name: string; state: string }>).map((c) => c.name);
    expect(names).toEqual(['rw', 'ro', 'slow', 'cx']);
  });

  it('binds ? and :name parameters, never inside strings', async () => {
    const ins = await mustCall(h.client, 'execute_query', {
      connection: 'rw', query: `INSERT INTO ${table} (id, name, amount) VALUES (?, ?, ?)`, params: [1, "it's ? here", '12345678901234567890.0123456789'],
    });
    expect(ins.affected_rows).toBe(1);
    await mustCall(h.client, 'execute_query', {
      connection: 'rw', query: `INSERT INTO ${table} (id, name) VALUES (:id, :name)`, params: { id: 2, name: ':not_a_param' },
    });
    const r = await mustCall(h.client, 'execute_query', {
      connection: 'rw', query: `SELECT id, name, '?:x' AS lit FROM ${table} WHERE id >= :min ORDER BY id`, params: { min: 1 },
    });
    expect(rowsOf(r)).toEqual([
      { id: 1, name: 'it\'s ? here', lit: '?:x' },
      { id: 2, name: ':not_a_param', lit: '?:x' },
    ]);
    expect((r.columns as Array<{ name: string }>).map((c) => c.name)).toEqual(['id', 'name', 'lit']);
  });

  it('keeps big integers and decimals exact and bytes as base64', async () => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 9007199254740993 AS big, 42 AS small' });
    expect(rowsOf(r)).toEqual([{ big: '9007199254740993', small: 42 }]);
    const d = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT amount FROM ${table} WHERE id = 1` });
    expect(String(rowsOf(d)[0].amount)).toBe('12345678901234567890.0123456789');
    const hex = backend.name === 'postgres' ? `'\\x00ff10'::bytea` : `X'00FF10'`;
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: `UPDATE ${table} SET data = ${hex} WHERE id = 2` });
    const b = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT data FROM ${table} WHERE id = 2` });
    expect(rowsOf(b)).toEqual([{ data: Buffer.from([0, 255, 16]).toString('base64') }]);
  });

  it('keeps every value when column names repeat', async () => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 1 AS a, 2 AS a, 3 AS b' });
    expect(rowsOf(r)).toEqual([{ a: 1, a_2: 2, b: 3 }]);
    expect((r.columns as Array<{ name: string }>).map((c) => c.name)).toEqual(['a', 'a_2', 'b']);
  });

  // mysql2 refuses a column named __proto__ outright (the call fails, the server lives on).
  it.runIf(backend.name !== 'mysql')('keeps a column named __proto__ as a column', async () => {
    const r = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 3 AS "__proto__"' });
    expect(JSON.parse(JSON.stringify(rowsOf(r)))).toEqual([JSON.parse('{"__proto__":3}')]);
  });

  it('never lets a capped read cancel the next statement on the connection', async () => {
    // pool of one (the 'cx' connection is not used concurrently here): a late cancel would hit the next call.
    for (let i = 0; i < 30; i++) {
      const capped = await mustCall(h.client, 'execute_query', { connection: 'cx', max_rows: 1, query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c' });
      expect(capped.truncated).toBe(true);
      const next = await callTool(h.client, 'execute_query', { connection: 'cx', query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 900) SELECT count(*) AS n FROM c' });
      expect(next.ok ? rowsOf(next.data) : next.error).toEqual([{ n: 900 }]);
    }
  });

  it('caps rows and says so', async () => {
    const r = await mustCall(h.client, 'execute_query', {
      connection: 'rw', max_rows: 10,
      query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c',
    });
    expect(rowsOf(r)).toHaveLength(10);
    expect(r.truncated).toBe(true);
    expect(String(r.notice)).toMatch(/LIMIT/);
    // The connection is clean and usable after a capped result.
    const again = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 1 AS one' });
    expect(rowsOf(again)).toEqual([{ one: 1 }]);
  });

  it('does not undo a write whose returned rows hit the cap', async () => {
    const values = Array.from({ length: 50 }, (_, i) => `(${1000 + i}, 'cap')`).join(', ');
    const r = await mustCall(h.client, 'execute_query', {
      connection: 'rw', max_rows: 5, query: `INSERT INTO ${table} (id, name) VALUES ${values} RETURNING id`,
    });
    expect(r.truncated).toBe(true);
    expect(rowsOf(r)).toHaveLength(5);
    const n = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT count(*) AS n FROM ${table} WHERE name = 'cap'` });
    expect(rowsOf(n)).toEqual([{ n: 50 }]);
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: `DELETE FROM ${table} WHERE name = 'cap'` });
  });

  it('rolls back a whole transaction when the third statement fails', async () => {
    const before = await count();
    const r = await callTool(h.client, 'execute_transaction', {
      connection: 'rw',
      queries: [
        { query: `INSERT INTO ${table} (id, name) VALUES (?, ?)`, params: [100, 'a'] },
        { query: `UPDATE ${table} SET name = 'changed' WHERE id = 1` },
        { query: `INSERT INTO ${table} (id, name) VALUES (?, ?)`, params: [2, 'duplicate key'] },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('CONSTRAINT_VIOLATION');
    expect(r.error.details.statement_index).toBe(2);
    expect(await count()).toBe(before);
    const one = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT name FROM ${table} WHERE id = 1` });
    expect(rowsOf(one)).toEqual([{ name: 'it\'s ? here' }]);
  });

  it.runIf(backend.name === 'mysql')('refuses statements that commit implicitly inside a MySQL transaction', async () => {
    for (const query of [`CREATE TABLE ${table}_x (a int)`, `/*!50000 DROP TABLE ${table} */`, `LOCK TABLES ${table} WRITE`, 'CALL nothing()', `SET STATEMENT max_statement_time=0 FOR CREATE TABLE ${table}_y (a int)`]) {
      const r = await callTool(h.client, 'execute_transaction', {
        connection: 'rw', queries: [{ query: `INSERT INTO ${table} (id, name) VALUES (500, 'x')` }, { query }],
      });
      expect(r.ok ? 'ok' : `${r.error.code}:${r.error.details.statement_index}`).toBe('UNSUPPORTED:1');
    }
    const n = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT count(*) AS n FROM ${table} WHERE id = 500` });
    expect(rowsOf(n)).toEqual([{ n: 0 }]);
  });

  it('commits a transaction and returns each result', async () => {
    const r = await mustCall(h.client, 'execute_transaction', {
      connection: 'rw',
      queries: [
        { query: `INSERT INTO ${table} (id, name) VALUES (?, ?)`, params: [10, 'x'] },
        { query: `SELECT name FROM ${table} WHERE id = :id`, params: { id: 10 } },
      ],
    });
    expect(r.committed).toBe(true);
    const results = r.results as Array<Record<string, unknown>>;
    expect(results[0].affected_rows).toBe(1);
    expect(rowsOf(results[1])).toEqual([{ name: 'x' }]);
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: `DELETE FROM ${table} WHERE id = 10` });
  });

  it.runIf(backend.name === 'postgres')('refuses COPY through the client stream and stays usable', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'rw', query: `COPY ${table} FROM STDIN` });
    expect(r.ok ? 'ok' : r.error.code).toBe('UNSUPPORTED');
    const next = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 1 AS one' });
    expect(rowsOf(next)).toEqual([{ one: 1 }]);
  });

  it.each([
    ['a syntax error', 'SELEC 1', 'SYNTAX_ERROR'],
    ['an unknown table', 'SELECT * FROM no_such_table_here', 'UNDEFINED_OBJECT'],
    ['two statements', 'SELECT 1; SELECT 2', 'INVALID_INPUT'],
    ['transaction control', 'BEGIN', 'INVALID_INPUT'],
  ])('reports %s with a stable code', async (_what, query, code) => {
    const r = await callTool(h.client, 'execute_query', { connection: 'rw', query });
    expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('rejects bad arguments with INVALID_INPUT and unknown connections with CONNECTION_NOT_FOUND', async () => {
    const missing = await callTool(h.client, 'execute_query', { connection: 'rw' });
    expect(missing.ok ? 'ok' : missing.error.code).toBe('INVALID_INPUT');
    const params = await callTool(h.client, 'execute_query', { connection: 'rw', query: 'SELECT ? AS a', params: [1, 2] });
    expect(params.ok ? 'ok' : params.error.code).toBe('INVALID_INPUT');
    const unknown = await callTool(h.client, 'execute_query', { connection: 'nope', query: 'SELECT 1' });
    expect(unknown.ok ? 'ok' : unknown.error.code).toBe('CONNECTION_NOT_FOUND');
  });

  it('stops a runaway statement at its timeout while other calls are answered', async () => {
    const started = Date.now();
    const slow = callTool(h.client, 'execute_query', { connection: 'slow', query: backend.sleep(60) });
    await new Promise((r) => setTimeout(r, 200));
    const other = await mustCall(h.client, 'execute_query', { connection: 'rw', query: 'SELECT 2 AS two' });
    expect(rowsOf(other)).toEqual([{ two: 2 }]);
    const r = await slow;
    const elapsed = Date.now() - started;
    expect(r.ok ? 'ok' : r.error.code).toBe('TIMEOUT');
    expect(elapsed).toBeLessThan(2000);
    const after = await mustCall(h.client, 'execute_query', { connection: 'slow', query: 'SELECT 3 AS three' });
    expect(rowsOf(after)).toEqual([{ three: 3 }]);
  });

  it('stops the statement on the server when the client cancels the call', async () => {
    const controller = new AbortController();
    const query = backend.name === 'sqlite' ? backend.sleep(30) : backend.sleep(30).replace('SELECT', 'SELECT /* cmx-cancel */');
    const pending = callTool(h.client, 'execute_query', { connection: 'cx', query }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await expect(pending).rejects.toThrow();
    const started = Date.now();
    const probe = backend.name === 'postgres'
      ? `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%cmx-cancel%' AND state = 'active' AND pid <> pg_backend_pid()`
      : backend.name === 'mysql'
        ? `SELECT count(*) AS n FROM information_schema.processlist WHERE info LIKE '%cmx-cancel%' AND id <> CONNECTION_ID()`
        : 'SELECT 0 AS n';
    let n = -1;
    for (let i = 0; i < 20 && n !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      // On SQLite the probe goes to the cancelled connection itself: it answers only once the runaway is stopped.
      const r = await mustCall(h.client, 'execute_query', { connection: backend.name === 'sqlite' ? 'cx' : 'rw', query: probe });
      n = Number(rowsOf(r)[0].n);
    }
    expect(n).toBe(0);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('closes and reopens a connection', async () => {
    await mustCall(h.client, 'get_connection', { connection: 'ro' });
    const closed = await mustCall(h.client, 'close_connection', { connection: 'ro' });
    expect(closed.was_open).toBe(true);
    const again = await mustCall(h.client, 'close_connection', { connection: 'ro' });
    expect(again.was_open).toBe(false);
    const r = await mustCall(h.client, 'execute_query', { connection: 'ro', query: `SELECT count(*) AS n FROM ${table}` });
    expect(rowsOf(r)).toHaveLength(1);
  });
});
