/**
 * The command line (issue 16): --version and --help on stdout with exit 0; a connection
 * name given twice refused; a SQLite path in a missing directory refused unless the
 * connection says create_directory; readable log lines on a terminal, JSON otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { callTool, SERVER_JS, startStdio } from '../support/mcp.js';

const VERSION = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version as string;

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SERVER_JS, ...args], {
    input: '', encoding: 'utf8', timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', HOME: tempDir('cmx-cli-home-'), XDG_DATA_HOME: tempDir('cmx-cli-'), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli', () => {
  it('prints --version and --help on stdout and exits 0', () => {
    for (const flag of ['--version', '-v']) expect(run([flag])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    for (const flag of ['--help', '-h']) {
      const r = run([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^codomyrmex-db .*\n\nUsage: codomyrmex-db/);
      expect(r.stderr).toBe('');
    }
  });

  it('refuses a connection name given twice, in flags or in the config file', () => {
    const dir = tempDir('cmx-cli-dup-');
    const flags = run(['-c', `a=sqlite://${join(dir, 'one.db')}`, '-c', `a=sqlite://${join(dir, 'two.db')}`]);
    expect(flags.status).toBe(2);
    expect(flags.stderr).toContain('connection "a" is given twice');
    const config = join(dir, 'config.json');
    writeFileSync(config, `{"connections": {"pg": {"url": "sqlite://${join(dir, 'one.db')}"}, "pg": {"url": "sqlite://${join(dir, 'two.db')}"}}}`);
    const file = run(['--config', config]);
    expect(file.status).toBe(2);
    expect(file.stderr).toContain('"connections.pg" twice');
    // Not confused by the same key in different objects.
    writeFileSync(config, `{"connections": {"a": {"url": "sqlite://${join(dir, 'one.db')}"}, "b": {"url": "sqlite://${join(dir, 'two.db')}"}}}`);
    expect(run(['--config', config]).status).toBe(0);
    expect(existsSync(join(dir, 'one.db')) || existsSync(join(dir, 'two.db'))).toBe(false);
  });

  it('refuses a SQLite file in a missing directory unless create_directory is set; a missing file in an existing one is created', async () => {
    const dir = tempDir('cmx-cli-sqlite-');
    const typo = join(dir, 'dat', 'app.db');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ connections: { typo: { url: `sqlite://${typo}` }, made: { url: `sqlite://${join(dir, 'new', 'deep', 'app.db')}`, create_directory: true }, fresh: { url: `sqlite://${join(dir, 'fresh.db')}` } } }));
    const s = await startStdio(['--config', config]);
    try {
      const r = await callTool(s.client, 'execute_query', { connection: 'typo', query: 'SELECT 1 AS x' });
      expect(r.ok ? 'ok' : r.error).toMatchObject({ code: 'CONNECTION_FAILED', details: { cause: 'missing_directory' } });
      expect(r.ok ? '' : r.error.message).toContain('create_directory');
      expect(existsSync(join(dir, 'dat'))).toBe(false);
      for (const name of ['made', 'fresh']) {
        const ok = await callTool(s.client, 'execute_query', { connection: name, query: 'CREATE TABLE t (x integer)' });
        expect(ok.ok).toBe(true);
      }
      expect(existsSync(join(dir, 'new', 'deep', 'app.db'))).toBe(true);
      expect(existsSync(join(dir, 'fresh.db'))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('logs JSON lines to a pipe and readable lines to a terminal (or when asked)', () => {
    const db = `db=sqlite://${join(tempDir('cmx-cli-log-'), 'x.db')}`;
    const json = run(['-c', db]).stderr.trim().split('\n');
    expect(json.length).toBeGreaterThan(1);
    for (const line of json) expect(JSON.parse(line)).toHaveProperty('msg');
    const asked = run(['-c', db], { CODOMYRMEX_DB_LOG_FORMAT: 'pretty' }).stderr;
    expect(asked).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  ready connections=1 config=defaults code_cache=used$/m);
    expect(run(['-c', db], { CODOMYRMEX_DB_LOG_FORMAT: 'yaml' })).toMatchObject({ status: 2, stderr: expect.stringContaining('CODOMYRMEX_DB_LOG_FORMAT') });
    // A real terminal (script(1) gives the server a pty): pretty without being asked; JSON when forced.
    const tty = (env: string): string => execFileSync('script', ['-qec', `${env} ${process.execPath} ${SERVER_JS} -c ${db} </dev/null`, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
    const plain = tty('').replace(/\u001b\[\d+m/g, '');
    expect(plain).toMatch(/\d\d:\d\d:\d\d\.\d{3} INFO  ready connections=1/);
    expect(tty('CODOMYRMEX_DB_LOG_FORMAT=json')).toContain('"msg":"ready"');
  });
});
