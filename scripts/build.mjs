// Bundles the server into dist/ with esbuild: one ESM file per entry plus the chunks
// they share, drivers left external (native or lazily loaded). A few bundled files
// start about twice as fast as the same code spread over hundreds of modules (see
// PITFALLS.md, start-up time). Splitting keeps code behind a dynamic import (the HTTP
// transport) out of the stdio start-up: without it esbuild wraps every module that
// import reaches, the SDK and zod included, in lazy initialisers (+20 ms measured).
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

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
  plugins: [onlyEnglishZod],
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
