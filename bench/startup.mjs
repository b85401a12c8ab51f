// Cold start: spawn the built server, initialize, tools/list; median of 15 fresh processes.
import { spawn } from 'node:child_process';
import { fmt, median, SERVER_JS, tempDir } from './lib.mjs';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } };
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

/** Milliseconds from spawn to the tools/list response of one fresh process running `args` (under `command`: node by default). */
export function coldStart(args, env, command = process.execPath) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env: { ...process.env, XDG_DATA_HOME: tempDir(), ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.id === 1) child.stdin.write(`${JSON.stringify(INITIALIZED)}\n${JSON.stringify(LIST)}\n`);
        if (msg.id === 2) {
          const ms = performance.now() - t0;
          // Resolved once the process is gone: a run that starts while the last one still
          // tears down (DBHub frees a heap of over 100 MB) would pay for it.
          child.removeAllListeners('exit');
          child.once('exit', () => resolve(ms));
          child.kill();
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${command} ${args[0]} exited (${code}) before tools/list was answered`)));
    child.stdin.write(`${JSON.stringify(INIT)}\n`);
  });
}

/** A bare node process that answers the same three messages with no SDK: the floor. */
const BARE = `let b='';process.stdin.on('data',d=>{b+=d;let i;while((i=b.indexOf('\\n'))>=0){const m=JSON.parse(b.slice(0,i));b=b.slice(i+1);if(m.id)process.stdout.write(JSON.stringify({jsonrpc:'2.0',id:m.id,result:{}})+'\\n')}})`;

export async function benchStartup(runs = 15) {
  const ours = [];
  const bare = [];
  for (let i = 0; i < runs; i++) {
    ours.push(await coldStart([SERVER_JS]));
    bare.push(await coldStart(['-e', BARE]));
  }
  const o = median(ours);
  const b = median(bare);
  return [{ metric: `cold start to tools/list, median of ${runs} (ms)`, ours: fmt(o, 1), baseline: `${fmt(b, 1)} (bare node)`, ratio: fmt(o / b, 2), target: '< 150 ms', ok: o < 150 ? 'yes' : 'NO' }];
}
