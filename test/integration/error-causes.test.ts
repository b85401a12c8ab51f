/**
 * Errors with their real cause (issue 16): statement limits (recursion, stack depth,
 * expression depth) get LIMIT_EXCEEDED on every backend, never INTERNAL; file-system
 * conditions under backup_dir (read-only mount, no permission, a file in the path) get
 * stable codes with details.cause, and are logged at warn without a stack.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, SERVER_JS, startInProcess, type Harness } from '../support/mcp.js';

/** Per backend: a statement that trips a limit of the database's own. */
const LIMITS: Record<TestBackend['name'], { setup?: string; query: string }> = {
  // MariaDB stops a recursive CTE at max_recursive_iterations: a warning in a SELECT,
  // errno 1931 in a write under strict mode (the default).
  mysql: { setup: 'CREATE TABLE seq (x integer)', query: 'INSERT INTO seq WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c' },
  // A function that calls itself until max_stack_depth: SQLSTATE 54001.
  postgres: { setup: 'CREATE FUNCTION deep(n integer) RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN deep(n + 1); END $$', query: 'SELECT deep(1) AS n' },
  // Deeper than SQLITE_MAX_EXPR_DEPTH (1000).
  sqlite: { query: `SELECT ${Array.from({ length: 1200 }, () => '1').join(' + ')} AS n` },
};

describe.each(BACKENDS)('statement limits on $name', (backend: TestBackend) => {
  let db: { url: string; drop(): Promise<void> };
  let h: Harness;

  beforeAll(async () => {
    db = await freshDatabase(backend, 'limits');
    h = await startInProcess({ db: { url: db.url } });
    const setup = LIMITS[backend.name].setup;
    if (setup) {
      const r = await callTool(h.client, 'execute_query', { connection: 'db', query: setup });
      expect(r.ok).toBe(true);
    }
  });

  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('answers LIMIT_EXCEEDED, not INTERNAL', async () => {
    const r = await callTool(h.client, 'execute_query', { connection: 'db', query: LIMITS[backend.name].query });
    expect(r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`).toMatch(/^LIMIT_EXCEEDED: /);
  });

  it.runIf(backend.name === 'mysql')('answers LIMIT_EXCEEDED for a read that max_recursive_iterations cut short, not an incomplete result', async () => {
    const query = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000) SELECT count(*) AS c FROM r';
    for (const [tool, args] of [['execute_query', { query }], ['execute_transaction', { queries: [{ query }] }]] as const) {
      const r = await callTool(h.client, tool, { connection: 'db', ...args });
      expect(r.ok ? 'ok' : r.error.code).toBe('LIMIT_EXCEEDED');
    }
    const small = await callTool(h.client, 'execute_query', { connection: 'db', query: query.replace('100000', '10') });
    expect(small.ok ? small.data.rows : small.error).toEqual([[10]]);
  });
});

interface Served { outcome: { code: string; details: Record<string, unknown> } | 'ok'; stderr: string }

/** create_backup on a server (stdio, optionally as another user) whose backup_dir is `dir`; its answer and its log. */
async function backupInto(dir: string, asNobody = false): Promise<Served> {
  const work = tempDir('cmx-fs-');
  execFileSync('chmod', ['0777', work]);
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ connections: { db: { url: `sqlite://${join(work, 'db.sqlite')}` } }, backup_dir: dir }));
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const node = [process.execPath, SERVER_JS, '--config', config];
  const transport = new StdioClientTransport({
    command: asNobody ? 'setpriv' : node[0]!,
    args: asNobody ? ['--reuid=nobody', '--regid=nogroup', '--clear-groups', ...node] : node.slice(1),
    env: { PATH: process.env.PATH ?? '', HOME: work, XDG_DATA_HOME: work },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const client = new Client({ name: 'cmx-test', version: '0' });
  await client.connect(transport);
  try {
    const r = await callTool(client, 'create_backup', { database: 'db' });
    return { outcome: r.ok ? 'ok' : r.error, stderr };
  } finally {
    await client.close();
  }
}

const root = process.getuid?.() === 0;

describe.skipIf(!root)('file-system causes under backup_dir (needs root: a read-only mount, another user)', () => {
  const base = tempDir('cmx-fsbase-');
  const ro = join(base, 'ro');

  beforeAll(() => {
    mkdirSync(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
  });

  afterAll(() => {
    execFileSync('umount', [ro]);
  });

  const expectCause = (s: Served, code: string, cause: string): void => {
    expect(s.outcome).toMatchObject({ code, details: { cause } });
    const lines = s.stderr.split('\n').filter((l) => l.includes('a tool failed on the file system'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('"level":"warn"');
    expect(s.stderr).not.toContain('"stack"');
    expect(s.stderr).not.toContain('"level":"error"');
  };

  it('a read-only file system: PERMISSION_DENIED, cause read_only_file_system', async () => {
    expectCause(await backupInto(ro), 'PERMISSION_DENIED', 'read_only_file_system');
  });

  it('a directory to create on a read-only file system names that cause, not a missing parent', async () => {
    expectCause(await backupInto(join(ro, 'a', 'b')), 'PERMISSION_DENIED', 'read_only_file_system');
  });

  it('a file where a directory should be: INVALID_INPUT, cause not_a_directory', async () => {
    const file = join(base, 'plain-file');
    writeFileSync(file, 'x');
    expectCause(await backupInto(join(file, 'backups')), 'INVALID_INPUT', 'not_a_directory');
  });

  it('a file, a dangling link or a link loop as backup_dir, or a name too long: INVALID_INPUT with its cause', async () => {
    const file = join(base, 'just-a-file');
    writeFileSync(file, 'x');
    expectCause(await backupInto(file), 'INVALID_INPUT', 'not_a_directory');
    const dangling = join(base, 'dangling');
    symlinkSync(join(base, 'nowhere'), dangling);
    expectCause(await backupInto(dangling), 'INVALID_INPUT', 'not_a_directory');
    const loop = join(base, 'loop');
    symlinkSync(loop, loop);
    expectCause(await backupInto(join(loop, 'backups')), 'INVALID_INPUT', 'symlink_loop');
    expectCause(await backupInto(join(base, 'x'.repeat(300))), 'INVALID_INPUT', 'name_too_long');
  });

  it('a directory the server may not write: PERMISSION_DENIED, cause permission', async () => {
    const locked = join(base, 'locked');
    mkdirSync(locked);
    execFileSync('chmod', ['0755', base]);
    execFileSync('chmod', ['0555', locked]);
    expectCause(await backupInto(locked, true), 'PERMISSION_DENIED', 'permission');
    expectCause(await backupInto(join(locked, 'sub'), true), 'PERMISSION_DENIED', 'permission');
  });
});
