// Bundles the server into dist/ with esbuild: one ESM file per entry plus the chunks
// they share, drivers left external (native or lazily loaded). A few bundled files
// start about twice as fast as the same code spread over hundreds of modules (see
// PITFALLS.md, start-up time). Splitting keeps code behind a dynamic import (the HTTP
// transport) out of the stdio start-up: without it esbuild wraps every module that
// import reaches, the SDK and zod included, in lazy initialisers (+20 ms measured).
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

// Drivers stay external: native (better-sqlite3), WASM (libpg-query) or loaded lazily.
const external = ['better-sqlite3', 'postgres', 'mysql2', 'libpg-query'];
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
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cmxRequire } from 'node:module'; const require = __cmxRequire(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: { server: 'src/server.ts', embed: 'src/embed.ts', 'sqlite-host': 'src/core/backends/sqlite/host.ts', 'sql-worker': 'src/core/offload/worker.ts' },
  outdir: 'dist',
  splitting: true,
  // Chunks sit beside the entries, so import.meta.url-relative paths (the SQLite host) still resolve.
  chunkNames: 'chunk-[hash]',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
});
chmodSync('dist/server.js', 0o755);
