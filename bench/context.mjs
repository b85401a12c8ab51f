// Context cost: the tools/list response every agent pays for on every turn, measured as the
// JSON-RPC line the built server writes on stdout (bytes; tokens estimated at 4 bytes each),
// for every tool and for subsets chosen with --tools.
import { spawn } from 'node:child_process';
import { SERVER_JS, tempDir } from './lib.mjs';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } };
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

/** The tools/list response line of a fresh server started with `args`. */
function listLine(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_JS, '--connection', 'default=sqlite::memory:', ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_DATA_HOME: tempDir() }, stdio: ['pipe', 'pipe', 'ignore'],
    });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line);
        if (msg.id === 1) child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n${JSON.stringify(LIST)}\n`);
        if (msg.id === 2) {
          child.kill();
          resolve({ bytes: Buffer.byteLength(line), tools: msg.result.tools });
        }
      }
    });
    child.on('error', reject);
    child.stdin.write(`${JSON.stringify(INIT)}\n`);
  });
}

const tokens = (bytes) => Math.round(bytes / 4);

export async function benchContext() {
  const all = await listLine([]);
  const rows = [{ metric: `tools/list, all ${all.tools.length} tools (bytes / ~tokens)`, ours: `${all.bytes} / ${tokens(all.bytes)}`, baseline: '', ratio: '1.0', target: 'tight but sufficient', ok: '' }];
  for (const subset of ['queries', 'migrations', 'schema', 'performance', 'execute_query,list_connections']) {
    const s = await listLine(['--tools', subset]);
    rows.push({
      metric: `tools/list, --tools ${subset}: ${s.tools.length} tools`, ours: `${s.bytes} / ${tokens(s.bytes)}`,
      baseline: `${all.bytes} (all)`, ratio: (s.bytes / all.bytes).toFixed(2), target: '', ok: '',
    });
  }
  const sizes = all.tools.map((t) => [t.name, Buffer.byteLength(JSON.stringify(t))]).sort((a, b) => b[1] - a[1]);
  for (const [name, bytes] of sizes.slice(0, 3)) {
    rows.push({ metric: `  largest: ${name} (bytes / ~tokens)`, ours: `${bytes} / ${tokens(bytes)}`, baseline: '', ratio: '', target: '< 6144 bytes', ok: bytes < 6144 ? 'yes' : 'NO' });
  }
  return rows;
}
