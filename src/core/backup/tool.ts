/**
 * Running a backend's own backup tool (pg_dump, mariadb-dump …) for a native backup or
 * restore: the backend module builds the command, its arguments and its environment;
 * this runs it. Passwords go through the environment (PGPASSWORD, MYSQL_PWD), never argv.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DbError } from '../../errors.js';

export interface Tool {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Prefixes of the variables the tool's client library reads (PG for libpq): the server's own are left out. */
  clientEnv: string[];
  stdin?: Readable;
  stdout?: Writable;
}

/** Runs a tool; its stderr (cut) becomes the error's message, never its argv or env. */
export async function runTool(tool: Tool, signal: AbortSignal): Promise<void> {
  const child = spawn(tool.command, tool.args, { env: { ...withoutClientEnv(process.env, tool.clientEnv), ...tool.env }, stdio: [tool.stdin ? 'pipe' : 'ignore', tool.stdout ? 'pipe' : 'ignore', 'pipe'], signal });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4000) stderr += d.toString('utf8'); });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    await Promise.all([
      tool.stdin && child.stdin ? pipeline(tool.stdin, child.stdin) : null,
      tool.stdout && child.stdout ? pipeline(child.stdout, tool.stdout) : null,
      exited.then((code) => {
        if (code !== 0) throw new DbError('INTERNAL', `${tool.command} failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`, { tool: tool.command, exit_code: code });
      }),
    ]);
  } catch (err) {
    if (signal.aborted) throw new DbError('CANCELLED', 'cancelled by the client');
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DbError('UNSUPPORTED', `${tool.command} is not on PATH: format "native" needs it`, { tool: tool.command });
    throw err;
  }
}

/**
 * The server's own client variables stay out of the tool's environment: libpq reads
 * PGOPTIONS (`-c setting=…`), PGSERVICE, PGSSLMODE …, and the connection is the URL's.
 */
function withoutClientEnv(env: NodeJS.ProcessEnv, prefixes: string[]): NodeJS.ProcessEnv {
  const upper = prefixes.map((p) => p.toUpperCase());
  return Object.fromEntries(Object.entries(env).filter(([k]) => !upper.some((p) => k.toUpperCase().startsWith(p))));
}

/** The first of the commands found on PATH (mariadb-dump, else mysqldump ...). */
export async function firstTool(names: string[]): Promise<string> {
  for (const n of names) {
    const found = await new Promise<boolean>((resolve) => spawn(n, ['--version'], { stdio: 'ignore' }).once('error', () => resolve(false)).once('close', (c) => resolve(c === 0)));
    if (found) return n;
  }
  throw new DbError('UNSUPPORTED', `none of ${names.join(', ')} is on PATH: format "native" needs one`);
}
