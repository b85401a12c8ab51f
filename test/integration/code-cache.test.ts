/**
 * dist/server.js runs the server's bundle with the V8 code cache the build wrote
 * (src/start.ts). The cache is only a shortcut: whatever is wrong with it (cut short,
 * bytes changed, made from another bundle, refused by V8 for a flag), the server starts
 * and serves the same, compiled from the source, and its 'ready' log says which way it
 * started. A release V8 checks no checksum of a code cache, so a changed byte that passed
 * would run other bytecode: the digest check in start.ts is what stops that.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = resolve(import.meta.dirname, '../../dist');

interface Started { codeCache: unknown; tools: number; answer: unknown }

/** Starts `dir`/server.js, asks for tools/list and one query, and reads its 'ready' log line. */
function start(dir: string, env: Record<string, string> = {}): Promise<Started> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(dir, 'server.js'), '--connection', 'x=sqlite::memory:'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const send = (m: object): void => void child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
    let out = '';
    let err = '';
    let tools = 0;
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const m = JSON.parse(out.slice(0, nl)) as { id: number; result: { tools?: unknown[]; structuredContent?: unknown } };
        out = out.slice(nl + 1);
        if (m.id === 1) {
          send({ method: 'notifications/initialized' });
          send({ id: 2, method: 'tools/list' });
        } else if (m.id === 2) {
          tools = m.result.tools?.length ?? 0;
          send({ id: 3, method: 'tools/call', params: { name: 'execute_query', arguments: { connection: 'x', query: "SELECT 6 * 7 AS n, 'ok' AS s" } } });
        } else if (m.id === 3) {
          const { elapsed_ms: _, ...answer } = m.result.structuredContent as Record<string, unknown>;
          child.stdin.end();
          child.once('exit', () => {
            const ready = err.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; code_cache?: unknown }).find((l) => l.msg === 'ready');
            done({ codeCache: ready?.code_cache, tools, answer });
          });
        }
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => { if (code !== 0) fail(new Error(`server exited ${code}: ${err}`)); });
    send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'code-cache', version: '0' } } });
  });
}

describe('the server bundle run with its code cache', () => {
  // Inside the project, so a copy of dist/ resolves the project's node_modules as an installed package would.
  const root = mkdtempSync(join(import.meta.dirname, '.dist-cache-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A copy of dist/ with `change` applied to it. */
  const copy = (change: (dir: string) => void): string => {
    const dir = join(root, `dist-${n++}`);
    cpSync(DIST, dir, { recursive: true });
    change(dir);
    return dir;
  };
  const cache = (dir: string): string => join(dir, 'server-main.cjs.cache');

  it('starts from the build\'s cache, and serves the same as without it', async () => {
    const built = await start(DIST);
    expect(built.codeCache).toBe('used');
    expect(built.answer).toMatchObject({ rows: [[42, 'ok']] });
    const without = await start(copy((dir) => rmSync(cache(dir))));
    expect(without.codeCache).toBe('none');
    expect(without).toEqual({ ...built, codeCache: 'none' });
  }, 60_000);

  it.each([
    ['cut short', (dir: string) => { const c = readFileSync(cache(dir)); writeFileSync(cache(dir), c.subarray(0, c.length >> 1)); }],
    ['one byte of the bytecode changed', (dir: string) => { const c = readFileSync(cache(dir)); c[c.length - 100] ^= 0xff; writeFileSync(cache(dir), c); }],
    ['made from another bundle of the same length', (dir: string) => {
      // The bundle's last line is its source-map comment: one letter changed keeps the length V8 checks.
      const file = join(dir, 'server-main.cjs');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/sourceMappingURL=server-main/, 'sourceMappingURL=server-mainx').replace(/\.cjs\.map\s*$/, 'cjs.map\n'));
    }],
    ['empty', (dir: string) => writeFileSync(cache(dir), '')],
    // Reading a FIFO would wait for a writer forever: only a regular file is read.
    ['that is a FIFO', (dir: string) => { rmSync(cache(dir)); execFileSync('mkfifo', [cache(dir)]); }],
  ])('a cache %s is not used: the server compiles its source', async (_, change) => {
    const started = await start(copy(change));
    expect(started.codeCache).toBe('none');
    expect(started.tools).toBeGreaterThan(15);
    expect(started.answer).toMatchObject({ rows: [[42, 'ok']] });
  }, 60_000);

  it('with source maps on, the bundle is required as a CommonJS file (Node maps its frames), and works', async () => {
    const started = await start(DIST, { NODE_OPTIONS: '--enable-source-maps' });
    expect(started.codeCache).toBe('none');
    expect(started.answer).toMatchObject({ rows: [[42, 'ok']] });
  }, 60_000);

  it('the cache does not carry the directory it was built in (a code cache keeps its script\'s name for stack traces)', () => {
    expect(readFileSync(join(DIST, 'server-main.cjs.cache')).includes(Buffer.from(resolve(DIST, '..')))).toBe(false);
  });

  it('the bundle runs in strict mode, as the ES modules it is made of did', () => {
    expect(readFileSync(join(DIST, 'server-main.cjs'), 'utf8')).toMatch(/^"use strict";/);
  });

  it('CMX_WRITE_CODE_CACHE other than 1 writes nothing', async () => {
    const dir = copy(() => undefined);
    const before = readFileSync(cache(dir));
    await start(dir, { CMX_WRITE_CODE_CACHE: '0' });
    expect(readFileSync(cache(dir)).equals(before)).toBe(true);
  }, 60_000);

  it('a cache V8 refuses (a V8 flag the build did not run with) is said, and the server works', async () => {
    const started = await start(DIST, { NODE_OPTIONS: '--max-semi-space-size=32' });
    expect(started.codeCache).toBe('refused');
    expect(started.answer).toMatchObject({ rows: [[42, 'ok']] });
  }, 60_000);
});
