/**
 * How tools are declared, listed and called. Our tools/list serves each tool's
 * zod schemas as compact JSON Schema (listing.ts; built once per server); our tools/call
 * handler validates input, runs the handler and turns every failure into an
 * `isError` result carrying {code, message, details}, so the SDK's catch-all
 * (which drops codes and forwards raw messages) never speaks for us.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode as RpcErrorCode, ListToolsRequestSchema, McpError, type CallToolResult, type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { asDbError, DbError } from '../errors.js';
import { isRecord } from '../core/sql.js';
import type { ServerContext } from '../context.js';
import { redactValue } from '../log.js';
import { listing, type ListedTool } from './listing.js';
import { listingKey, precomputedListings } from './listing-precomputed.js';

/** A tool result line over 10 MiB closes the SDK's stdio transport; stay well under. */
export const MAX_RESULT_TEXT_BYTES = 4 * 1024 * 1024;

export interface CallContext {
  /** Aborted when the client cancels the request (notifications/cancelled) or the server closes. */
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> extends ListedTool {
  input: I;
  output: O;
  handler: (args: z.infer<I>, call: CallContext) => Promise<z.infer<O>>;
  /**
   * The first text item, for clients that read only text. Default: the JSON of the
   * result. Tools that return rows render them more compactly (SPEC §3.4), since a
   * client that reads both blocks pays for both.
   */
  text?: (result: z.infer<O>) => string;
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

/**
 * The optional `connection` argument every tool takes. Undescribed on purpose: 21 copies
 * of one sentence cost 1.6 KB a turn; the server's instructions explain the default once.
 */
export const connectionArg = z.string().min(1).max(63).optional();

/** The field names of the object schema at `path` (through optional, nullable and array wrappers). */
function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  type Def = { type?: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType };
  const def = (s: z.ZodType): Def => (s as unknown as { _zod?: { def?: Def } })._zod?.def ?? {};
  const unwrap = (s: z.ZodType): z.ZodType => {
    let d = def(s);
    while (d.innerType && ['optional', 'nullable', 'default', 'readonly'].includes(d.type ?? '')) {
      s = d.innerType;
      d = def(s);
    }
    return s;
  };
  let at: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    const d = def(at);
    // Own keys only: a path through "constructor" must not reach Object.prototype.
    at = d.type === 'object' && d.shape && Object.hasOwn(d.shape, String(key)) ? d.shape[String(key)] : d.type === 'array' ? d.element : undefined;
    if (!at) return [];
    at = unwrap(at);
  }
  const d = def(at);
  return d.type === 'object' ? Object.keys(d.shape ?? {}) : [];
}

/**
 * The first problem, in words an agent can act on. An unknown key comes first: a
 * misspelt name (`sql` for `query`) also makes the real one missing, and naming the
 * valid keys is what fixes both.
 */
function describeIssue(error: z.ZodError, schema: z.ZodType): { message: string; details: Record<string, unknown> } {
  const unknown = error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const where = unknown.path.map(String).join('.');
    const valid = keysAt(schema, unknown.path);
    // The keys are the caller's text: a few, each cut short, are enough to name the mistake.
    const keys = unknown.keys.slice(0, 5).map((k) => (k.length > 64 ? `${k.slice(0, 64)}…` : k));
    const names = keys.map((k) => `"${k}"`).join(', ') + (unknown.keys.length > keys.length ? ` and ${unknown.keys.length - keys.length} more` : '');
    return {
      message: `unknown argument${unknown.keys.length > 1 ? 's' : ''} ${names}${where ? ` in "${where}"` : ''}; valid: ${valid.join(', ') || '(none)'}`,
      details: { field: where ? `${where}.${keys[0]}` : keys[0], unknown: keys, valid },
    };
  }
  const issue = error.issues[0];
  const field = issue.path.map(String).join('.') || '(arguments)';
  return { message: `invalid argument "${field}": ${issue.message}`, details: { field } };
}

export function errorResult(err: unknown, ctx: ServerContext): CallToolResult {
  const e = asDbError(err);
  if (e.code === 'INTERNAL') ctx.logger.error({ err: e.message, stack: (e.cause as Error | undefined)?.stack }, 'internal error in a tool');
  // An expected condition of the host (read-only or full disk, permissions): the operator's to fix, no stack.
  else if (typeof e.details.cause === 'string' && typeof e.details.errno === 'string') ctx.logger.warn({ code: e.code, cause: e.details.cause, err: e.message }, 'a tool failed on the file system');
  const body = redactValue({ error: { code: e.code, message: e.message, details: e.details } }, ctx.redact);
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
}

function okResult(value: Record<string, unknown>, rendered: string | undefined, chart = ''): CallToolResult {
  const json = JSON.stringify(value);
  const text = rendered ?? json;
  // The protocol line carries both the structured JSON and the text: neither may pass the cap.
  // A UTF-16 unit is at most 3 UTF-8 bytes: texts that short are under the cap without counting.
  const surelyUnder = Math.max(json.length, text.length + chart.length) * 3 <= MAX_RESULT_TEXT_BYTES;
  const bytes = surelyUnder ? 0 : Math.max(Buffer.byteLength(json), Buffer.byteLength(text) + Buffer.byteLength(chart));
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

/**
 * tools/call as the SDK's Protocol hands it to our handler: its method only; the handler
 * reads `params` itself (callParams). The handler is registered on the Protocol, beneath
 * the SDK Server's own tools/call wrapper: that wrapper parsed each request twice against
 * CallToolRequestSchema and copied each result through CallToolResultSchema, for task
 * support this server does not offer. Our results are made in two places (okResult,
 * errorResult), in the shape that schema checks.
 */
const ToolCallRequest = z.looseObject({ method: z.literal('tools/call') });

interface CallParams {
  name: string;
  arguments: unknown;
  progressToken: string | number | undefined;
}

/** A request's params as tools/call defines them, or the protocol error (-32602) the SDK gave for others. */
function callParams(request: unknown): CallParams {
  const params = (request as { params?: unknown }).params;
  if (!isRecord(params) || typeof params.name !== 'string') throw new McpError(RpcErrorCode.InvalidParams, 'tools/call needs params.name, the name of a tool');
  if (params.arguments !== undefined && !isRecord(params.arguments)) throw new McpError(RpcErrorCode.InvalidParams, 'tools/call params.arguments must be an object');
  const meta = params._meta;
  const token = isRecord(meta) ? meta.progressToken : undefined;
  return { name: params.name, arguments: params.arguments ?? {}, progressToken: typeof token === 'string' || typeof token === 'number' ? token : undefined };
}

/** The server must declare the `tools` capability itself (mcp.ts does). */
export function registerTools(server: McpServer, ctx: ServerContext, defs: ToolDef[]): void {
  // Unknown top-level keys are refused on every tool (nested objects declare .strict() themselves).
  const byName = new Map(defs.map((d) => [d.name, { def: d, input: d.input.strict() }]));
  let listed: Tool[] | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, () => {
    const built = precomputedListings();
    return { tools: (listed ??= defs.map((d) => built.get(listingKey(d)) ?? listing(d))) };
  });
  Protocol.prototype.setRequestHandler.call(server.server, ToolCallRequest, async (request, extra) => {
    const params = callParams(request);
    const entry = byName.get(params.name);
    if (!entry) throw new McpError(RpcErrorCode.InvalidParams, `Tool ${params.name} not found`);
    const { def, input } = entry;
    const parsed = input.safeParse(params.arguments);
    if (!parsed.success) {
      const { message, details } = describeIssue(parsed.error, input);
      return errorResult(new DbError('INVALID_INPUT', message, details), ctx);
    }
    const token = params.progressToken;
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
      const result = value as Record<string, unknown>;
      return okResult(result, def.text?.(result), chartOf(def, value, ctx));
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
