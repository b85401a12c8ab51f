/**
 * How tools are declared, listed and called. Our tools/list serves each tool's
 * zod schemas as compact JSON Schema (built once per server); our tools/call
 * handler validates input, runs the handler and turns every failure into an
 * `isError` result carrying {code, message, details}, so the SDK's catch-all
 * (which drops codes and forwards raw messages) never speaks for us.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema, ErrorCode as RpcErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool, type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { asDbError, DbError } from '../errors.js';
import type { ServerContext } from '../context.js';
import { redactValue } from '../log.js';

/** A tool result line over 10 MiB closes the SDK's stdio transport; stay well under. */
export const MAX_RESULT_TEXT_BYTES = 4 * 1024 * 1024;

export interface CallContext {
  /** Aborted when the client cancels the request (notifications/cancelled) or the server closes. */
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  handler: (args: z.infer<I>, call: CallContext) => Promise<z.infer<O>>;
  /**
   * A compact text picture of the result (bars, sparklines) for a person reading the
   * transcript, sent as a second text item after the JSON; structuredContent keeps
   * the numbers. Empty text: no second item.
   */
  chart?: (result: z.infer<O>) => string;
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef {
  return def as unknown as ToolDef;
}

/** The optional `connection` argument every tool takes. */
export const connectionArg = z.string().min(1).max(63).optional()
  .describe('Connection name (default: "default", or the only one configured).');

function describeIssue(error: z.ZodError): { message: string; field: string } {
  const issue = error.issues[0];
  const field = issue.path.map(String).join('.') || '(arguments)';
  return { message: `invalid argument "${field}": ${issue.message}`, field };
}

export function errorResult(err: unknown, ctx: ServerContext): CallToolResult {
  const e = asDbError(err);
  if (e.code === 'INTERNAL') ctx.logger.error({ err: e.message, stack: (e.cause as Error | undefined)?.stack }, 'internal error in a tool');
  // An expected condition of the host (read-only or full disk, permissions): the operator's to fix, no stack.
  else if (typeof e.details.cause === 'string' && typeof e.details.errno === 'string') ctx.logger.warn({ code: e.code, cause: e.details.cause, err: e.message }, 'a tool failed on the file system');
  const body = redactValue({ error: { code: e.code, message: e.message, details: e.details } }, ctx.redact);
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
}

function okResult(value: Record<string, unknown>, chart = ''): CallToolResult {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text) + Buffer.byteLength(chart);
  if (bytes > MAX_RESULT_TEXT_BYTES) {
    throw new DbError('RESULT_TOO_LARGE', `the result is ${bytes} bytes, over the ${MAX_RESULT_TEXT_BYTES}-byte limit; ask for fewer rows or columns`);
  }
  const content: CallToolResult['content'] = [{ type: 'text', text }];
  if (chart) content.push({ type: 'text', text: chart });
  return { content, structuredContent: value };
}

/** A chart is a picture for people: one that cannot be drawn is logged and left out, never the call's failure. */
function chartOf(def: ToolDef, value: unknown, ctx: ServerContext): string {
  try {
    return def.chart?.(value as Record<string, unknown>) ?? '';
  } catch (err) {
    ctx.logger.warn({ tool: def.name, err: (err as Error).message }, 'chart not drawn');
    return '';
  }
}

/** Bounds the call handler enforces anyway: listing them costs every agent context on every turn. */
const ENFORCED_NOT_LISTED = new Set(['maxLength', 'maxItems', 'additionalProperties']);

function compact(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compact);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (ENFORCED_NOT_LISTED.has(k) && typeof v !== 'object') continue;
    if (k === 'minLength' && v === 1) continue;
    out[k] = compact(v);
  }
  return out;
}

/**
 * JSON Schema as the SDK would list it (draft-07), minus the `$schema` line every schema
 * would repeat and the length and count bounds (still enforced on input).
 */
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
  return compact(rest) as Tool['inputSchema'];
}

/** Every tool definition costs the agent context on every turn: nothing here that says nothing. */
function listing(def: ToolDef): Tool {
  return {
    name: def.name,
    title: def.title,
    description: def.description,
    inputSchema: jsonSchema(def.input, 'input'),
    outputSchema: jsonSchema(def.output, 'output'),
    annotations: { ...def.annotations, openWorldHint: false },
  };
}

/** The server must declare the `tools` capability itself (mcp.ts does). */
export function registerTools(server: McpServer, ctx: ServerContext, defs: ToolDef[]): void {
  const byName = new Map(defs.map((d) => [d.name, d]));
  let listed: Tool[] | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: (listed ??= defs.map(listing)) }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const def = byName.get(request.params.name);
    if (!def) throw new McpError(RpcErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    const parsed = def.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      const { message, field } = describeIssue(parsed.error);
      return errorResult(new DbError('INVALID_INPUT', message, { field }), ctx);
    }
    const token = request.params._meta?.progressToken;
    const progress: CallContext['progress'] = async (done, total, message) => {
      if (token === undefined) return;
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message } }).catch(() => undefined);
    };
    const started = performance.now();
    try {
      // The SDK aborts extra.signal on notifications/cancelled and on close; ctx.calls also
      // aborts it at shutdown, and lets shutdown wait for the handler's cleanup.
      const value = await ctx.calls.run(extra.signal, (signal) => def.handler(parsed.data, { signal, progress }));
      // Results are not rewritten: every field that could hold a secret (urls) is built
      // redacted, and rewriting rows would both corrupt data and let an agent test guesses.
      return okResult(value as Record<string, unknown>, chartOf(def, value, ctx));
    } catch (err) {
      noticeLoss(ctx, err, (parsed.data as { connection?: string }).connection);
      return errorResult(ctx.calls.stopping() ? asShutdown(err) : err, ctx);
    } finally {
      ctx.logger.debug({ tool: def.name, ms: Math.round(performance.now() - started) }, 'tool call');
    }
  });
}

/** The dialects say "cancelled by the client"; at shutdown it was the server. */
function asShutdown(err: unknown): unknown {
  const e = asDbError(err);
  return e.code === 'CANCELLED' ? new DbError('CANCELLED', 'the call was cancelled: the server is shutting down', { ...e.details, reason: 'shutdown' }) : err;
}

/** A connection that died under a call is news for every client, not just the caller. */
function noticeLoss(ctx: ServerContext, err: unknown, connection: string | undefined): void {
  const e = asDbError(err);
  if (e.code !== 'CONNECTION_LOST') return;
  let name = connection;
  try { name = ctx.registry.resolveName(connection); } catch { /* keep what the caller passed */ }
  ctx.notify('warning', 'connection_lost', { connection: name, message: e.message });
}
