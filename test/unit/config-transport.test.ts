import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTP_DEFAULTS, isLoopbackHost, loadConfig, parseCli } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'cmx-config-http-'));
const env = { XDG_DATA_HOME: join(dir, 'xdg') };
const TOKEN = 'a-token-of-24-characters';

function load(argv: string[], extraEnv: Record<string, string> = {}) {
  return loadConfig(parseCli(argv), { ...env, ...extraEnv }, dir);
}

function writeConfig(value: unknown): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('transport configuration', () => {
  it('defaults to stdio, loopback HTTP settings and every tool', () => {
    const c = load([]);
    expect(c.transport).toBe('stdio');
    expect(c.http).toEqual({ host: '127.0.0.1', port: HTTP_DEFAULTS.port, token: undefined, stateless: false, allowed_origins: [], allowed_hosts: [], session_idle_ms: 1_800_000 });
    expect(c.tools).toBeNull();
  });

  it('takes flags over env over the file', () => {
    const file = writeConfig({ transport: 'http', http: { host: '127.0.0.2', port: 4000, stateless: true, session_idle_ms: 5000 } });
    const fromFile = load(['--config', file]);
    expect(fromFile.transport).toBe('http');
    expect(fromFile.http).toMatchObject({ host: '127.0.0.2', port: 4000, stateless: true, session_idle_ms: 5000 });
    const fromEnv = load(['--config', file], { CODOMYRMEX_DB_HTTP_PORT: '4001', CODOMYRMEX_DB_HTTP_HOST: 'localhost' });
    expect(fromEnv.http).toMatchObject({ host: 'localhost', port: 4001 });
    const fromFlags = load(['--config', file, '--port', '0', '--host', '::1'], { CODOMYRMEX_DB_HTTP_PORT: '4001' });
    expect(fromFlags.http).toMatchObject({ host: '::1', port: 0 });
  });

  it('refuses a host other machines can reach without a token', () => {
    expect(() => load(['--transport', 'http', '--host', '0.0.0.0'])).toThrow(/without a token/);
    const c = load(['--transport', 'http', '--host', '0.0.0.0'], { CODOMYRMEX_DB_HTTP_TOKEN: TOKEN });
    expect(c.http.token).toBe(TOKEN);
    // The same host is fine for stdio, where nothing listens.
    expect(load([], { CODOMYRMEX_DB_HTTP_HOST: '0.0.0.0' }).transport).toBe('stdio');
  });

  it('refuses short tokens, bad ports and HTTP flags without HTTP', () => {
    expect(() => load(['--transport', 'http', '--http-token', 'short'])).toThrow(/at least 16 characters/);
    expect(() => load(['--transport', 'http', '--port', '70000'])).toThrow(/--port must be a port number/);
    expect(() => load(['--transport', 'http', '--port', '12ab'])).toThrow(/--port must be a port number/);
    expect(() => load(['--port', '3000'])).toThrow(/--port applies only to --transport http/);
    expect(() => load(['--stateless'])).toThrow(/--stateless applies only/);
    expect(() => load(['--transport', 'tcp'])).toThrow(/transport must be one of stdio, http/);
    // An empty env token counts as unset, not as a short token.
    expect(load(['--transport', 'http'], { CODOMYRMEX_DB_HTTP_TOKEN: '' }).http.token).toBeUndefined();
  });

  it.each([
    [{ http: { port: 70000 } }, 'http.port'],
    [{ http: { token: 'short' } }, 'http.token'],
    [{ http: { allowed_origins: ['https://ok.example/path'] } }, 'http.allowed_origins.0'],
    [{ http: { colour: 'red' } }, 'http'],
    [{ transport: 'tcp' }, 'transport'],
    [{ tools: [] }, 'tools'],
  ])('names the bad field of %j', (value, field) => {
    expect(() => load(['--config', writeConfig(value)])).toThrow(new RegExp(`field "${field.replace(/\./g, '\\.')}"`));
  });

  it('reads --tools as a comma-separated list, over env over the file', () => {
    expect(load(['--tools', ' queries, run_migration ,queries']).tools).toEqual(['queries', 'run_migration']);
    expect(load([], { CODOMYRMEX_DB_TOOLS: 'migrations' }).tools).toEqual(['migrations']);
    expect(load(['--config', writeConfig({ tools: ['queries'] })]).tools).toEqual(['queries']);
    expect(() => load(['--tools', ' , '])).toThrow(/at least one/);
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', 'LOCALHOST']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '127.0.0.1.example.com', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });
});
