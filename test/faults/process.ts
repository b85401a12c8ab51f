/**
 * The server as a bare child process for the fault suite: raw pipes (no SDK client, so
 * malformed bytes reach it as written), every stdout line parsed and checked to be a
 * JSON-RPC message, and the child's memory read from /proc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/backends.js';
import { SERVER_JS } from '../support/mcp.js';

type Json = Record<string, any>;

/** VmRSS and VmHWM (peak) of a process, in MB; null once it is gone. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** A config file with these connections (and extra top-level settings); returns its path. */
export function configFile(connections: Record<string, Json>, extra: Json = {}): string {
  const file = join(tempDir('cmx-fcfg-'), 'config.json');
  writeFileSync(file, JSON.stringify({ connections, ...extra }));
  return file;
}

export class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  /** stdout lines that are not JSON-RPC 2.0 messages (must stay empty). */
  readonly badLines: string[] = [];
  readonly stderr: string[] = [];
  private pending = Buffer.alloc(0);
  private readonly answers = new Map<string | number, Json>();
  private readonly waiting = new Map<string | number, (m: Json) => void>();
  private nextId = 1_000_000;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [SERVER_JS, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', XDG_DATA_HOME: tempDir('cmx-fdata-') },
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    // A dead child makes writes fail with EPIPE: the test sees that as "not alive", never as a throw.
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => { if (this.stderr.length < 200) this.stderr.push(chunk.toString('utf8').slice(0, 500)); });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onStdout(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (let nl = this.pending.indexOf(10); nl !== -1; nl = this.pending.indexOf(10)) {
      const line = this.pending.subarray(0, nl).toString('utf8');
      this.pending = this.pending.subarray(nl + 1);
      let m: Json;
      try {
        m = JSON.parse(line);
      } catch {
        this.badLines.push(line.slice(0, 200));
        continue;
      }
      const isMessage = m && typeof m === 'object' && !Array.isArray(m) && m.jsonrpc === '2.0'
        && (typeof m.method === 'string' || ('id' in m && ('result' in m || 'error' in m)));
      if (!isMessage) { this.badLines.push(line.slice(0, 200)); continue; }
      if (m.method === undefined && (typeof m.id === 'string' || typeof m.id === 'number')) {
        const w = this.waiting.get(m.id);
        if (w) { this.waiting.delete(m.id); w(m); } else this.answers.set(m.id, m);
      }
    }
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (!this.alive() || this.child.stdin.destroyed) return resolve();
      this.child.stdin.write(data, () => resolve());
    });
  }

  /** The answer to request `id`, or null after `ms`. */
  answer(id: string | number, ms = 10_000): Promise<Json | null> {
    const got = this.answers.get(id);
    if (got) { this.answers.delete(id); return Promise.resolve(got); }
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiting.delete(id); resolve(null); }, ms);
      this.waiting.set(id, (m) => { clearTimeout(timer); resolve(m); });
      void this.exited.then(() => { clearTimeout(timer); this.waiting.delete(id); resolve(null); });
    });
  }

  /** Sends a request on its own line and waits for its answer (null: none came). */
  async request(method: string, params?: Json, ms = 10_000): Promise<Json | null> {
    const id = this.nextId++;
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) })}\n`);
    return this.answer(id, ms);
  }

  /** The initialize handshake, by hand. */
  async initialize(): Promise<Json | null> {
    const r = await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cmx-faults', version: '0' } }, 20_000);
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.alive()) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
