/**
 * Harness for the review of c077a59: the built server (or another build, for comparison:
 * CMX_REVIEW_SERVER_JS=/path/to/dist/server.js) as a raw stdio child whose every stdout
 * line is checked and whose whole stderr is kept, and as an HTTP child.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { tempDir } from '../support/backends.js';
import { afterAll, beforeAll } from 'vitest';
import { SERVER_JS, startStdio } from '../support/mcp.js';

export type Json = Record<string, any>;
export const SERVER = process.env.CMX_REVIEW_SERVER_JS ?? SERVER_JS;

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir('cmx-rc077-') });

export class Raw {
  readonly child: ChildProcessWithoutNullStreams;
  readonly badLines: string[] = [];
  stderr = '';
  private pending = '';
  private readonly answers = new Map<unknown, Json>();
  private readonly waiting = new Map<unknown, (m: Json) => void>();
  private nextId = 1;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [SERVER, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env() });
    this.child.stdin.on('error', () => undefined);
    this.child.stderr.on('data', (d: Buffer) => { this.stderr += d.toString('utf8'); });
    this.child.stdout.on('data', (d: Buffer) => {
      this.pending += d.toString('utf8');
      for (let nl = this.pending.indexOf('\n'); nl !== -1; nl = this.pending.indexOf('\n')) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        let m: Json;
        try { m = JSON.parse(line); } catch { this.badLines.push(line.slice(0, 200)); continue; }
        if (!m || m.jsonrpc !== '2.0') { this.badLines.push(line.slice(0, 200)); continue; }
        if (m.method === undefined) {
          const w = this.waiting.get(m.id);
          if (w) { this.waiting.delete(m.id); w(m); } else this.answers.set(m.id, m);
        }
      }
    });
  }

  alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  line(o: unknown): Promise<void> {
    return new Promise((resolve) => this.child.stdin.write(`${typeof o === 'string' ? o : JSON.stringify(o)}\n`, () => resolve()));
  }

  answer(id: unknown, ms = 5_000): Promise<Json | null> {
    const got = this.answers.get(id);
    if (got) { this.answers.delete(id); return Promise.resolve(got); }
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiting.delete(id); resolve(null); }, ms);
      this.waiting.set(id, (m) => { clearTimeout(timer); resolve(m); });
    });
  }

  async request(method: string, params?: unknown, ms = 5_000): Promise<Json | null> {
    const id = `r${this.nextId++}`;
    await this.line({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return this.answer(id, ms);
  }

  async initialize(): Promise<void> {
    const r = await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'rc077', version: '0' } }, 20_000);
    if (!r?.result) throw new Error(`initialize: ${JSON.stringify(r)}`);
    await this.line({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async stop(): Promise<void> {
    if (this.alive()) { const gone = new Promise((r) => this.child.once('exit', r)); this.child.kill('SIGKILL'); await gone; }
  }
}

/** One initialised raw stdio server on an in-memory SQLite database for the describe block around it. */
export function rawServerPerSuite(): () => Raw {
  let s: Raw | undefined;
  beforeAll(async () => {
    s = new Raw(['-c', 'db=sqlite::memory:']);
    await s.initialize();
  }, 30_000);
  afterAll(async () => { await s?.stop(); });
  return () => s as Raw;
}

export const stdioClient = (args: string[]) => startStdio(args, {}, SERVER);

export async function httpServer(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [SERVER, '--transport', 'http', '--port', '0', ...args], { env: env() });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint:\n${log}`)), 15_000);
    child.stderr.on('data', () => { const m = /"endpoint":"([^"]+)"/.exec(log); if (m) { clearTimeout(timer); resolve(m[1]); } });
  });
  return { url, stop: async () => { if (child.exitCode === null) { const gone = new Promise((r) => child.once('exit', r)); child.kill('SIGKILL'); await gone; } } };
}
