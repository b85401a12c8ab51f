import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseCli, parseConnectionUrl, safeUrl, urlSecrets } from '../../src/config.js';
import { DbError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cmx-config-'));
const env = { XDG_DATA_HOME: join(dir, 'xdg') };

function writeConfig(value: unknown): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('configuration', () => {
  it('defaults to an embedded SQLite file in the XDG data directory', () => {
    const c = loadConfig(parseCli([]), env, dir);
    const d = c.connections.get('default');
    expect(d?.backend).toBe('sqlite');
    expect(d?.file).toBe(join(dir, 'xdg', 'codomyrmex-db', 'default.db'));
    expect(d?.read_only).toBe(false);
    expect(d?.max_rows).toBe(1000);
  });

  it('accepts max_bytes up to the documented 2 MiB and refuses one byte more, naming the field', () => {
    const ok = writeConfig({ connections: { a: { url: 'sqlite::memory:', max_bytes: 2 * 1024 * 1024 } } });
    expect(loadConfig(parseCli(['--config', ok]), env, dir).connections.get('a')?.max_bytes).toBe(2 * 1024 * 1024);
    const over = writeConfig({ connections: { a: { url: 'sqlite::memory:', max_bytes: 2 * 1024 * 1024 + 1 } } });
    expect(() => loadConfig(parseCli(['--config', over]), env, dir)).toThrow(/max_bytes/);
  });

  it('takes flags over env over the file', () => {
    const file = writeConfig({ connections: { default: { url: 'sqlite:from-file.db', max_rows: 7 }, other: { url: 'sqlite::memory:' } } });
    const fromFile = loadConfig(parseCli(['--config', file]), env, dir);
    expect(fromFile.connections.get('default')?.file).toBe(join(dir, 'from-file.db'));
    const fromEnv = loadConfig(parseCli(['--config', file]), { ...env, DATABASE_URL: 'postgres://u:pw@h/db' }, dir);
    expect(fromEnv.connections.get('default')?.backend).toBe('postgres');
    expect(fromEnv.connections.get('default')?.max_rows).toBe(7);
    const fromFlag = loadConfig(parseCli(['--config', file, '--connection', 'default=mysql://root@h/db']), { ...env, DATABASE_URL: 'postgres://h/db' }, dir);
    expect(fromFlag.connections.get('default')?.backend).toBe('mysql');
    expect(fromFlag.connections.size).toBe(2);
  });

  it('makes every connection read-only with --read-only unless the file says otherwise', () => {
    const file = writeConfig({ connections: { a: { url: 'sqlite::memory:' }, b: { url: 'sqlite::memory:', read_only: false } } });
    const c = loadConfig(parseCli(['--config', file, '--read-only']), env, dir);
    expect(c.connections.get('a')?.read_only).toBe(true);
    expect(c.connections.get('b')?.read_only).toBe(false);
  });

  it('keeps the query log in memory by default; a path from the file, env or flag persists it', () => {
    expect(loadConfig(parseCli([]), env, dir).query_log).toEqual({ path: null, memory_entries: 10_000, max_entries: 100_000 });
    const file = writeConfig({ query_log: { path: 'logs/q.db', memory_entries: 500, max_entries: 5000 } });
    expect(loadConfig(parseCli(['--config', file]), env, '/elsewhere').query_log).toEqual({ path: join(dir, 'logs', 'q.db'), memory_entries: 500, max_entries: 5000 });
    expect(loadConfig(parseCli(['--config', file]), { ...env, CODOMYRMEX_DB_QUERY_LOG: 'env.db' }, '/cwd').query_log.path).toBe('/cwd/env.db');
    expect(loadConfig(parseCli(['--config', file, '--query-log', 'flag.db']), { ...env, CODOMYRMEX_DB_QUERY_LOG: 'env.db' }, '/cwd').query_log.path).toBe('/cwd/flag.db');
  });

  it.each([
    [{ query_log: { memory_entries: 5 } }, 'query_log.memory_entries'],
    [{ connections: { a: { url: 'sqlite::memory:', max_rows: 0 } } }, 'connections.a.max_rows'],
    [{ connections: { a: { url: 'sqlite::memory:', colour: 'red' } } }, 'connections.a'],
    [{ log_level: 'loud' }, 'log_level'],
    [{ connections: { '1bad': { url: 'sqlite::memory:' } } }, 'connections.1bad'],
  ])('names the bad field of %j', (value, field) => {
    const file = writeConfig(value);
    expect(() => loadConfig(parseCli(['--config', file]), env, dir)).toThrow(new RegExp(field.replace('.', '\\.')));
  });

  it('rejects unknown flags and schemes with INVALID_INPUT', () => {
    expect(() => parseCli(['--nope'])).toThrow(DbError);
    expect(() => parseConnectionUrl('oracle://x', dir)).toThrow(/unsupported URL scheme/);
  });

  it('parses every URL form', () => {
    expect(parseConnectionUrl('sqlite::memory:', dir)).toEqual({ backend: 'sqlite', file: ':memory:' });
    expect(parseConnectionUrl('sqlite:///abs/x.db', dir)).toEqual({ backend: 'sqlite', file: '/abs/x.db' });
    expect(parseConnectionUrl('sqlite:rel.db', '/base')).toEqual({ backend: 'sqlite', file: '/base/rel.db' });
    expect(parseConnectionUrl('postgresql://h/db', dir).backend).toBe('postgres');
    expect(parseConnectionUrl('mariadb://h/db', dir).backend).toBe('mysql');
  });

  it('hides passwords and knows them for redaction', () => {
    expect(safeUrl('postgres://user:s3cr%40t@host:5432/db')).toBe('postgres://user:***@host:5432/db');
    expect(safeUrl('sqlite:///x.db')).toBe('sqlite:///x.db');
    expect(urlSecrets('postgres://user:s3cr%40t@host/db')).toEqual(['s3cr%40t', 's3cr@t']);
  });
});

describe('passwords with an unencoded @', () => {
  it('hides and learns the whole password', () => {
    const url = 'postgres://postgres:s3cr@tPassw0rd@127.0.0.1:5432/test';
    expect(safeUrl(url)).toBe('postgres://postgres:***@127.0.0.1:5432/test');
    expect(urlSecrets(url)).toEqual(['s3cr@tPassw0rd']);
  });
});
