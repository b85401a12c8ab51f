/**
 * The red-team corpus runner: attacks written apart from the classifiers they test,
 * sent through the MCP tools, each followed by a look at everything an attack could
 * have changed, through channels the server does not control (a raw connection, the
 * file system). What is read back is searched for a secret token that only a file on
 * the database server's machine holds, so a file read is seen whatever shape the
 * result takes.
 */
import type { Harness } from '../support/mcp.js';

export type Mode = 'ro' | 'rw';
export type Tool = 'execute_query' | 'execute_transaction' | 'monitor_query_performance';

export interface Attack {
  /** Short stable name, printed with any effect. */
  id: string;
  /** One statement, or a sequence: sent as one transaction, and also one call each. */
  sql: string | string[];
  /** Which connections to try. Default: both. */
  on?: Mode[];
  /** Which tools carry a single statement. Default: all three. */
  tools?: Tool[];
}

export interface Witness {
  /** The secret that only the server-side file holds. */
  token: string;
  /** The secret file's whole content, so that its base64 and hex forms are looked for too. */
  content?: string;
  /** Effects seen since the baseline: a list of short descriptions, empty when none. */
  effects(): Promise<string[]>;
  /** Takes the current state as the new baseline (after an effect was recorded). */
  rebase(): Promise<void>;
}

export interface RedTeamReport {
  attacks: number;
  calls: number;
  refused: number;
  effects: string[];
}

const ALL_TOOLS: Tool[] = ['execute_query', 'execute_transaction', 'monitor_query_performance'];

function argsFor(tool: Tool, connection: string, sql: string): Record<string, unknown> {
  if (tool === 'execute_query') return { connection, query: sql };
  if (tool === 'execute_transaction') return { connection, queries: [{ query: 'SELECT 1' }, { query: sql }] };
  return { connection, query: sql, runs: 1 };
}

/** Calls a tool and returns everything it answered as text, and whether it was an error. */
async function send(h: Harness, tool: Tool, args: Record<string, unknown>): Promise<{ text: string; error: boolean }> {
  try {
    const raw = await h.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 60_000 });
    return { text: JSON.stringify(raw), error: raw.isError === true };
  } catch (err) {
    return { text: String(err), error: true };
  }
}

/** The calls one attack makes on one connection. */
function callsOf(a: Attack, mode: Mode): Array<{ tool: Tool; args: Record<string, unknown> }> {
  if (Array.isArray(a.sql)) {
    const seq = a.sql.map((query) => ({ tool: 'execute_query' as Tool, args: { connection: mode, query } }));
    return [{ tool: 'execute_transaction', args: { connection: mode, queries: a.sql.map((query) => ({ query })) } }, ...seq];
  }
  return (a.tools ?? ALL_TOOLS).map((tool) => ({ tool, args: argsFor(tool, mode, a.sql as string) }));
}

export async function runRedTeam(h: Harness, w: Witness, attacks: Attack[], label: string): Promise<RedTeamReport> {
  const report: RedTeamReport = { attacks: attacks.length, calls: 0, refused: 0, effects: [] };
  for (const a of attacks) {
    for (const mode of a.on ?? ['ro', 'rw']) {
      for (const call of callsOf(a, mode)) {
        const out = await send(h, call.tool, call.args);
        report.calls++;
        if (out.error) report.refused++;
        const seen = await w.effects();
        if (leaks(out.text, w)) seen.push('the secret file was read');
        if (seen.length > 0) {
          report.effects.push(`${label} ${a.id} [${mode} ${call.tool}]: ${seen.join('; ')}`);
          await w.rebase();
        }
      }
    }
  }
  console.log(`[security] red team ${label}: ${report.attacks} attacks, ${report.calls} calls, ${report.refused} refused, ${report.effects.length} effects`);
  for (const e of report.effects) console.log(`[security]   effect: ${e}`);
  return report;
}

/** The token in the text as it is, or the file's content in base64 or hex (binary columns). */
function leaks(text: string, w: Witness): boolean {
  if (text.includes(w.token)) return true;
  if (w.content === undefined) return false;
  const bytes = Buffer.from(w.content);
  const forms = [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  return forms.some((f) => text.includes(f));
}

/** Fills `{KEY}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}
