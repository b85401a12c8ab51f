/**
 * Read-only connections refuse every known bypass with READ_ONLY_VIOLATION and
 * change nothing: the table survives, its rows are the same, no file appears.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, tempDir, uniqueName, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

const outDir = tempDir('cmx-ro-');
const outFile = join(outDir, 'leak.out');

function attacks(backend: TestBackend['name'], t: string): string[] {
  const common = [
    `COMMIT; DROP TABLE ${t}`,
    `INSERT INTO ${t} VALUES (99)`,
    `DELETE FROM ${t}`,
    `DROP TABLE ${t}`,
    `UPDATE ${t} SET id = id + 1`,
  ];
  if (backend === 'postgres') {
    return [...common,
      `WITH x AS (DELETE FROM ${t} RETURNING *) SELECT * FROM x`,
      `SELECT * INTO ${t}_copy FROM ${t}`,
      `COPY ${t} TO PROGRAM 'touch ${outFile}'`,
      `COPY (SELECT 1) TO '${outFile}'`,
      'SELECT pg_terminate_backend(pg_backend_pid())',
      `SELECT lo_export(1, '${outFile}')`,
      `SELECT set_config('search_path', 'nowhere', false)`,
      'SELECT pg_advisory_lock(42)',
      `SELECT * FROM ${t} FOR UPDATE`,
      `EXPLAIN ANALYZE DELETE FROM ${t}`,
      'LISTEN somewhere',
      `/* hi */ DELETE FROM ${t}`,
      `SELECT ts_rewrite('a'::tsquery, 'SELECT pg_advisory_lock(4242)::text::tsquery, ''b''::tsquery')`,
    ];
  }
  if (backend === 'mysql') {
    return [...common,
      `/*!50000 DELETE FROM ${t} */`,
      `SELECT 1 /*!50000 , (SELECT 1 FROM ${t} FOR UPDATE) */`,
      `SELECT * FROM ${t} INTO OUTFILE '${outFile}'`,
      `SELECT * FROM ${t} INTO DUMPFILE '${outFile}'`,
      `SELECT LOAD_FILE('/etc/hostname')`,
      `SELECT GET_LOCK('cmx', 1)`,
      'SELECT @x := 1',
      `SELECT * FROM ${t} FOR UPDATE`,
      `SET PASSWORD = PASSWORD('x')`,
    ];
  }
  return [...common,
    `ATTACH DATABASE '${outFile}' AS leak`,
    `VACUUM INTO '${outFile}'`,
    'PRAGMA query_only = OFF',
    'PRAGMA query_only(0)',
    `SELECT load_extension('/nonexistent')`,
  ];
}

describe.each(BACKENDS)('read-only connection on $name', (backend) => {
  let h: Harness;
  const t = uniqueName('ro');

  beforeAll(async () => {
    const url = backend.url();
    h = await startInProcess({ rw: { url }, ro: { url, read_only: true } });
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: `CREATE TABLE ${t} (id integer PRIMARY KEY)` });
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: `INSERT INTO ${t} VALUES (1), (2), (3)` });
  });

  afterAll(async () => {
    await callTool(h.client, 'execute_query', { connection: 'rw', query: `DROP TABLE IF EXISTS ${t}` });
    await h.close();
  });

  it('allows reads: CTEs, window functions, EXPLAIN', async () => {
    const r = await mustCall(h.client, 'execute_query', {
      connection: 'ro',
      query: `WITH x AS (SELECT id FROM ${t}) SELECT id, row_number() OVER (ORDER BY id DESC) AS rn FROM x ORDER BY id`,
    });
    expect(rowsOf(r)).toEqual([{ id: 1, rn: 3 }, { id: 2, rn: 2 }, { id: 3, rn: 1 }]);
    const e = await mustCall(h.client, 'execute_query', { connection: 'ro', query: `EXPLAIN SELECT * FROM ${t}` });
    expect(rowsOf(e).length).toBeGreaterThan(0);
  });

  it.each(attacks(backend.name, t))('refuses %s', async (query) => {
    const r = await callTool(h.client, 'execute_query', { connection: 'ro', query });
    expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
    const rows = await mustCall(h.client, 'execute_query', { connection: 'rw', query: `SELECT id FROM ${t} ORDER BY id` });
    expect(rowsOf(rows)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(existsSync(outFile)).toBe(false);
  });

  it('refuses writes inside execute_transaction too', async () => {
    const r = await callTool(h.client, 'execute_transaction', {
      connection: 'ro', queries: [{ query: `SELECT 1` }, { query: `DELETE FROM ${t}` }],
    });
    expect(r.ok ? 'ok' : r.error.code).toBe('READ_ONLY_VIOLATION');
    if (!r.ok) expect(r.error.details.statement_index).toBe(1);
  });
});
