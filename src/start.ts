/**
 * The server's command (dist/server.js). It runs the server's bundle (dist/server-main.cjs,
 * built from server.ts) with the V8 code cache the build wrote beside it
 * (server-main.cjs.cache): the bytecode of the bundle's top level and of every function a
 * start-up to `tools/list` compiled. Compiling those was about a quarter of a cold start
 * (bench/RESULTS.md, issue 17); Node 20 has no compile cache of its own for a program's
 * modules (`module.enableCompileCache` is Node 22), and V8 takes a cache only for a script
 * it compiles through `vm.Script`, hence a CommonJS bundle run here.
 *
 * V8 checks the cache's version, flags and source length, and compiles from the source,
 * slower but the same, whenever the cache is missing or refused (another Node version, a V8
 * flag in NODE_OPTIONS); the server's 'ready' log says which (`code_cache`: used, refused,
 * none). With source maps on (`--enable-source-maps`), which Node does not apply to a
 * script compiled here, the bundle is required as any CommonJS file instead (`none`).
 * `CMX_WRITE_CODE_CACHE=1`: the build's run (scripts/build.mjs), which writes the cache at
 * exit.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { CODE_CACHE_STATE } from './code-cache-state.js';

const bundle = fileURLToPath(new URL('./server-main.cjs', import.meta.url));
const cacheFile = `${bundle}.cache`;
const writing = process.env.CMX_WRITE_CODE_CACHE === '1';
/**
 * The name V8 gives the script in stack traces. A code cache keeps the name it was made
 * under, whatever is given when it is used: the same name at the build and everywhere
 * else, so traces do not carry the build machine's directory, nor differ with the cache.
 */
const SCRIPT_NAME = 'codomyrmex-db/dist/server-main.cjs';
/** Larger than any cache of this bundle (about 1 MB): anything else there is not read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

if (process.sourceMapsEnabled) {
  (globalThis as Record<symbol, unknown>)[CODE_CACHE_STATE] = 'none';
  createRequire(import.meta.url)(bundle);
} else {
  const bytes = readFileSync(bundle);
  const source = bytes.toString('utf8');
  const digestOf = (data: Buffer): Buffer => createHash('sha256').update(bytes).update(data).digest();

  /**
   * The cache's bytes when its digest (SHA-256 of the bundle and the cache together, the
   * file's first 32 bytes) holds: V8 checks no checksum of a code cache in a release build,
   * so a cache cut short or made from another bundle of the same length is refused here.
   * Only a regular file of a cache's size is read (a FIFO or /dev/zero there would hang).
   */
  const readCache = (): Buffer | undefined => {
    try {
      const st = statSync(cacheFile);
      if (!st.isFile() || st.size <= 32 || st.size > MAX_CACHE_BYTES) return undefined;
      const file = readFileSync(cacheFile);
      const data = file.subarray(32);
      return digestOf(data).equals(file.subarray(0, 32)) ? data : undefined;
    } catch {
      return undefined; // none: compiled from the source
    }
  };

  const cachedData = writing ? undefined : readCache();
  // The wrapper Node gives a CommonJS module, so the bundle sees the usual five names.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: SCRIPT_NAME, cachedData });
  // What the server's 'ready' log says of it (server.ts).
  (globalThis as Record<symbol, unknown>)[CODE_CACHE_STATE] = !cachedData ? 'none' : script.cachedDataRejected ? 'refused' : 'used';
  if (writing) {
    // At exit, so the functions the run compiled are in the cache too.
    process.once('exit', (code) => {
      if (code !== 0) return;
      try {
        const data = script.createCachedData();
        writeFileSync(cacheFile, Buffer.concat([digestOf(data), data]));
      } catch (err) {
        process.stderr.write(`codomyrmex-db: the code cache was not written: ${(err as Error).message}\n`);
      }
    });
  }
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dir: string) => void;
  const module = { exports: {} };
  run(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
