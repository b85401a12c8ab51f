// Bundles the server into dist/ with esbuild: one ESM file per entry, drivers left
// external (native or lazily loaded). One bundled file starts about twice as fast
// as the same code spread over hundreds of modules (see PITFALLS.md, start-up time).
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const external = ['better-sqlite3', 'postgres', 'mysql2', 'libpg-query', 'pino'];
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cmxRequire } from 'node:module'; const require = __cmxRequire(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: { server: 'src/server.ts', embed: 'src/embed.ts', 'sqlite-host': 'src/core/dialects/sqlite-host.ts' },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
});
chmodSync('dist/server.js', 0o755);
