/**
 * README's examples against the real server: the agent session transcript (→ call,
 * ← result) is replayed on a stdio server, each result compared by shape (keys, nesting
 * and value types; values such as versions and paths differ run to run); the config file
 * example loads through the real loader; /healthz's version is the package's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseCli } from '../../src/config.js';
import { tempDir } from '../support/backends.js';
import { callTool, startStdio } from '../support/mcp.js';
import { BACKEND_HEALTH, HAPROXY_BIN, SERVER_CHECK } from '../topology/haproxy.js';

const ROOT = join(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

interface Step { tool: string; args: Record<string, unknown>; result: unknown }

/** Every `→ tool {…}` / `← {…}` pair of the README's text blocks, in order. */
function transcript(): Step[] {
  const steps: Step[] = [];
  for (const block of README.matchAll(/```text\n([\s\S]*?)```/g)) {
    const parts = block[1]!.split(/^(?=[→←] )/m).filter((p) => /^[→←] /.test(p));
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const call = /^→ (\w+) ([\s\S]*)$/.exec(parts[i]!.trim());
      expect(call, `a call line: ${parts[i]}`).not.toBeNull();
      expect(parts[i + 1]!.startsWith('← ')).toBe(true);
      steps.push({ tool: call![1]!, args: JSON.parse(call![2]!), result: JSON.parse(parts[i + 1]!.slice(2)) });
    }
  }
  return steps;
}

/** Keys, nesting and value types; arrays by their first element. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}

describe('README examples', () => {
  it('the migration session transcript matches what the server answers', async () => {
    const steps = transcript();
    expect(steps.map((s) => s.tool)).toEqual(['create_migration', 'run_migration', 'get_migration_status', 'rollback_migration']);
    const dir = tempDir('cmx-readme-');
    const names = [...new Set(steps.map((s) => String(s.args.connection)))];
    const s = await startStdio(names.flatMap((n) => ['-c', `${n}=sqlite://${join(dir, `${n}.db`)}`]), { XDG_DATA_HOME: dir });
    try {
      for (const step of steps) {
        const r = await callTool(s.client, step.tool, step.args);
        expect(r.ok ? 'ok' : r.error).toBe('ok');
        if (r.ok) expect([step.tool, shape(r.data)]).toEqual([step.tool, shape(step.result)]);
      }
    } finally {
      await s.close();
    }
  });

  it('the config file example loads', () => {
    const example = /Config file \(every field[^\n]*\n\n```json\n([\s\S]*?)```/.exec(README);
    expect(example).not.toBeNull();
    const dir = tempDir('cmx-readme-cfg-');
    const file = join(dir, 'config.json');
    writeFileSync(file, example![1]!);
    const config = loadConfig(parseCli(['--config', file]), { XDG_DATA_HOME: dir, CODOMYRMEX_DB_HTTP_TOKEN: 'x'.repeat(32) }, dir);
    expect([...config.connections.keys()].sort()).toEqual(['analytics', 'local', 'main']);
  });

  it('the balancer config example loads, naming the balancer\'s address in allowed_hosts', () => {
    const section = README.slice(README.indexOf('### Several server instances behind a balancer'));
    const example = /```json\n([\s\S]*?)```/.exec(section);
    expect(example).not.toBeNull();
    const dir = tempDir('cmx-readme-lb-');
    const file = join(dir, 'config.json');
    writeFileSync(file, example![1]!);
    const config = loadConfig(parseCli(['--config', file, '--transport', 'http', '--stateless']), { XDG_DATA_HOME: dir }, dir);
    expect(config.http).toMatchObject({ stateless: true, allowed_hosts: ['127.0.0.1:8080', 'localhost:8080'] });
    expect(config.query_log.path).toBe('/srv/cmx/query-log.db');
  });

  /** The haproxy config of "Several server instances behind a balancer". */
  function haproxyExample(): string {
    const section = README.slice(README.indexOf('### Several server instances behind a balancer'));
    const example = /```\n(defaults\n[\s\S]*?)```/.exec(section);
    expect(example).not.toBeNull();
    return example![1]!;
  }

  it('the haproxy example checks /healthz and redispatches, with the lines the topology harness uses', () => {
    const lines = haproxyExample().split('\n').map((l) => l.trim());
    // haproxy -c accepts a config without it (tcp mode), which then keeps no session on its instance.
    expect(lines).toContain('mode http');
    for (const l of BACKEND_HEALTH) expect(lines).toContain(l);
    const servers = lines.filter((l) => l.startsWith('server '));
    expect(servers.length).toBe(2);
    for (const l of servers) expect(l.endsWith(` ${SERVER_CHECK}`), l).toBe(true);
  });

  it.skipIf(!existsSync(HAPROXY_BIN))('haproxy accepts the example without a warning (haproxy -c, zero-warning mode)', () => {
    const file = join(tempDir('cmx-readme-haproxy-'), 'haproxy.cfg');
    writeFileSync(file, haproxyExample());
    const r = spawnSync(HAPROXY_BIN, ['-c', '-dW', '-f', file], { encoding: 'utf8' });
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
  });

  it('shows the package version in the /healthz example', () => {
    expect(README).toContain(`{"status":"ok","version":"${VERSION}"}`);
  });
});
