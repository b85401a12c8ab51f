// Bundles the server into dist/ with esbuild: one ESM file per entry plus the chunks
// they share, drivers left external (native or lazily loaded). A few bundled files
// start about twice as fast as the same code spread over hundreds of modules (see
// PITFALLS.md, start-up time). Splitting keeps code behind a dynamic import (the HTTP
// transport) out of the stdio start-up: without it esbuild wraps every module that
// import reaches, the SDK and zod included, in lazy initialisers (+20 ms measured).
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';

/**
 * zod re-exports its 64 locales as a namespace (`z.locales`), and the SDK uses zod as a
 * namespace object, so none of them could be dropped: about a fifth of the start-up
 * bundle, compiled at every cold start. Only English messages are ever used (zod's default,
 * which it imports on its own): the namespace keeps just that one.
 */
const onlyEnglishZod = {
  name: 'only-english-zod',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
      ? { path: 'zod-locales', namespace: 'only-english-zod', pluginData: args.resolveDir } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'only-english-zod' }, (args) => ({
      contents: "export { default as en } from '../locales/en.js';",
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

/**
 * The SDK's server module imports its Ajv validator to build one when none is given; mcp.ts
 * always gives one (lazyValidator, which requires Ajv from node_modules on first use), so
 * in the bundle that import is a stub, and Ajv, its formats and fast-uri (about 130 KB) are
 * neither compiled nor evaluated at start-up.
 */
const noBundledAjv = {
  name: 'no-bundled-ajv',
  setup(b) {
    b.onResolve({ filter: /\/validation\/ajv-provider\.js$/ }, (args) => (/[\\/]@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/]server[\\/]/.test(args.importer)
      ? { path: 'ajv-provider', namespace: 'no-bundled-ajv' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'no-bundled-ajv' }, () => ({
      contents: "export class AjvJsonSchemaValidator { constructor() { throw new Error('no bundled Ajv: pass jsonSchemaValidator (src/mcp.ts does)'); } }",
      loader: 'js',
    }));
  },
};

// Drivers stay external: native (better-sqlite3), WASM (libpg-query) or loaded lazily; so
// does the SDK's Ajv validator, required on first use (noBundledAjv).
const external = ['better-sqlite3', 'postgres', 'mysql2', 'libpg-query', '@modelcontextprotocol/sdk/validation/ajv'];
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external,
  sourcemap: 'linked',
  // Smaller text parses faster: start-up is a measured target.
  // NO_MINIFY=1 keeps names readable in CPU profiles (--cpu-prof).
  minify: !process.env.NO_MINIFY,
  keepNames: true,
  logLevel: 'warning',
  plugins: [onlyEnglishZod, noBundledAjv],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cmxRequire } from 'node:module'; const require = __cmxRequire(import.meta.url);" },
  // This build's id: dist/tool-listing.json is used only by the code of the build that wrote it.
  define: { __CMX_BUILD_ID__: JSON.stringify(randomUUID()) },
};

// Chunk names change with their content: start from an empty dist/ so no stale chunk lingers.
rmSync('dist', { recursive: true, force: true });

await build({
  ...common,
  entryPoints: {
    server: 'src/start.ts', embed: 'src/embed.ts', 'sqlite-host': 'src/core/backends/sqlite/host.ts', 'sql-worker': 'src/core/offload/worker.ts', 'listing-gen': 'src/tools/listing-gen.ts',
  },
  outdir: 'dist',
  splitting: true,
  // Chunks sit beside the entries, so import.meta.url-relative paths (the SQLite host) still resolve.
  chunkNames: 'chunk-[hash]',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
});
chmodSync('dist/server.js', 0o755);

// The server itself: one CommonJS file, which dist/server.js (src/start.ts) runs with V8's
// code cache. import.meta.url is the bundle's own URL (it sits in dist/ beside the SQLite
// host, the SQL worker and the tool listing); the drivers' dynamic imports become require()
// (a script run through node:vm has no loader for import()).
await build({
  ...common,
  entryPoints: { 'server-main': 'src/server.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  supported: { 'dynamic-import': false },
  // "use strict" first: esbuild's own comes after the banner, where it is no longer a directive.
  banner: { js: '"use strict";var __cmxMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { ...common.define, 'import.meta.url': '__cmxMetaUrl' },
});

// Unminified (NO_MINIFY) output keeps comments, which may quote any character.
if (!process.env.NO_MINIFY) assertAscii('dist/server-main.cjs');

buildSqliteBudget();

// tools/list as JSON beside the bundle (src/tools/listing-precomputed.ts), from the code just built.
const { writeListings } = await import(new URL('../dist/listing-gen.js', import.meta.url).href);
await writeListings('dist');

// The code cache of the server bundle (src/start.ts): one start-up to tools/list, whose
// compiled functions the cache keeps, written when the process exits.
await writeCodeCache();

/**
 * The server bundle must be ASCII: one character above U+007F anywhere (a regular expression
 * literal, which esbuild does not escape) makes V8 hold the whole 1 MB source as a two-byte
 * string, and a cold start paid about 10 ms for it (bench/RESULTS.md). Write such characters
 * as \u escapes in the source.
 */
function assertAscii(file) {
  const bytes = readFileSync(file);
  const at = bytes.findIndex((b) => b > 0x7f);
  if (at === -1) return;
  const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
  throw new Error(`${file} holds a character above U+007F at byte ${at} (line ${line}: ${JSON.stringify(bytes.subarray(Math.max(0, at - 40), at + 20).toString('utf8'))}); write it as a \\u escape in the source`);
}

/**
 * native/sqlite-budget.c, the SQLite extension that lets the server run short reads in its own
 * process (src/core/backends/sqlite/fast-read.ts), compiled against the sqlite3ext.h that
 * better-sqlite3 ships. Without a C compiler the server runs every SQLite statement in its
 * host process, as before: said here, not fatal.
 */
function buildSqliteBudget() {
  const include = 'node_modules/better-sqlite3/deps/sqlite3';
  const cc = process.env.CC || 'cc';
  const args = ['-O2', '-fPIC', '-shared', '-pthread', '-Wall', '-Wextra', '-Werror', '-I', include, 'native/sqlite-budget.c', '-o', 'dist/sqlite-budget.so'];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`warning: ${cc} could not build dist/sqlite-budget.so (${r.error?.message ?? r.stderr.trim()}); SQLite reads will all run in the host process\n`);
  }
}

async function writeCodeCache() {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const cache = 'dist/server-main.cjs.cache';
  const home = mkdtempSync(join(tmpdir(), 'cmx-build-'));
  // A clean start: none of the builder's server settings (CODOMYRMEX_DB_*: a transport, a
  // config, a query log), nor NODE_OPTIONS, whose V8 flags would make a cache that plain
  // `node` refuses.
  const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, CMX_WRITE_CODE_CACHE: '1' };
  const child = spawn(process.execPath, ['dist/server.js', '--connection', `warm=sqlite://${join(home, 'warm.db')}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const message = (m) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const { id } = JSON.parse(out.slice(0, nl));
      out = out.slice(nl + 1);
      if (id === 1) { message({ method: 'notifications/initialized' }); message({ id: 2, method: 'tools/list' }); }
      if (id === 2) child.stdin.end();
    }
  });
  message({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'build', version: '0' } } });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(signal ?? c)));
  clearTimeout(timer);
  rmSync(home, { recursive: true, force: true });
  if (code !== 0) {
    rmSync(cache, { force: true });
    throw new Error(`the code-cache run of dist/server.js ended with ${code}:\n${log}`);
  }
}
