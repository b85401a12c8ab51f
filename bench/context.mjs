// Context cost (issue 16): what an agent pays for the tool list on every turn and for a
// result. The tools/list line the built server writes on stdout (bytes; tokens estimated
// at 4 bytes each) for every tool and for subsets chosen with --tools; the list as a model
// sees it (name, title, description, input schema, annotations) and whole (with output
// schemas); each tool's size; and a 1,000 × 5 execute_query result against its bare values.
import { spawn } from 'node:child_process';
import { SERVER_JS, startInProcess, tempDir } from './lib.mjs';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } } };
const LIST = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

/** The targets of issue 16. */
export const TARGETS = { visible: 12_000, whole: 24_000, resultRatio: 1.15 };

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
const bytesOf = (v) => Buffer.byteLength(JSON.stringify(v));
/** What a model sees of a tool: everything but the output schema. */
const visible = ({ outputSchema: _o, ...seen }) => bytesOf(seen);

function listRows(all) {
  const seen = all.tools.reduce((n, t) => n + visible(t), 0);
  const whole = all.tools.reduce((n, t) => n + bytesOf(t), 0);
  return [
    { metric: `tools/list, ${all.tools.length} tools, model-visible (bytes / ~tokens)`, ours: `${seen} / ${tokens(seen)}`, baseline: '27297 (before issue 16)', ratio: (seen / 27297).toFixed(2), target: `<= ${TARGETS.visible}`, ok: seen <= TARGETS.visible ? 'yes' : 'NO' },
    { metric: `tools/list, ${all.tools.length} tools, with output schemas`, ours: `${whole} / ${tokens(whole)}`, baseline: '49835 (before issue 16)', ratio: (whole / 49835).toFixed(2), target: `<= ${TARGETS.whole}`, ok: whole <= TARGETS.whole ? 'yes' : 'NO' },
    { metric: 'tools/list, the JSON-RPC line on stdout', ours: `${all.bytes} / ${tokens(all.bytes)}`, baseline: '', ratio: '', target: '', ok: '' },
  ];
}

/** Each tool: model-visible bytes, then whole, largest first. */
function perToolRows(all) {
  return all.tools.map((t) => [t.name, visible(t), bytesOf(t)]).sort((a, b) => b[2] - a[2]).map(([name, seen, whole]) => ({
    metric: `  ${name} (visible / whole)`, ours: `${seen} / ${whole}`, baseline: '', ratio: '', target: '', ok: '',
  }));
}

/** 1,000 rows × 5 columns through execute_query: structuredContent and the text block against the bare values' JSON. */
async function resultRows() {
  const h = await startInProcess({ default: 'sqlite::memory:' });
  try {
    const query = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000) SELECT i AS id, 'name ' || i AS name, i * 1.5 AS price, i % 2 AS flag, printf('2024-01-%02d', i % 28 + 1) AS day FROM c";
    const r = await h.client.callTool({ name: 'execute_query', arguments: { query } });
    const bare = bytesOf(r.structuredContent.rows);
    const structured = bytesOf(r.structuredContent);
    const text = Buffer.byteLength(r.content[0].text);
    const row = (metric, ours, note = '') => ({
      metric, ours: String(ours), baseline: `${bare} (bare values)`, ratio: (ours / bare).toFixed(3),
      target: note || `<= ${TARGETS.resultRatio}`, ok: note ? '' : ours / bare <= TARGETS.resultRatio ? 'yes' : 'NO',
    });
    return [
      row(`execute_query 1,000 × 5: structuredContent (${r.structuredContent.rows.length} rows)`, structured),
      row('execute_query 1,000 × 5: text block', text),
      row('execute_query 1,000 × 5: both (clients that read both)', structured + text, 'was 3.92 (131 KB twice)'),
    ];
  } finally {
    await h.close();
  }
}

export async function benchContext() {
  const all = await listLine([]);
  const rows = listRows(all);
  for (const subset of ['queries', 'migrations', 'schema', 'performance', 'backup', 'execute_query,list_connections']) {
    const s = await listLine(['--tools', subset]);
    rows.push({
      metric: `tools/list, --tools ${subset}: ${s.tools.length} tools`, ours: `${s.bytes} / ${tokens(s.bytes)}`,
      baseline: `${all.bytes} (all)`, ratio: (s.bytes / all.bytes).toFixed(2), target: '', ok: '',
    });
  }
  rows.push(...await resultRows(), ...perToolRows(all));
  return rows;
}
