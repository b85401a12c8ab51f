/**
 * The stdio transport: one JSON-RPC message per line on stdin, one per line on stdout.
 * The SDK's StdioServerTransport closes itself when a line outgrows its 10 MiB buffer,
 * and a closed transport leaves nothing holding the event loop: the server exited with
 * 0 after a single oversized line. Here such a line is dropped (its bytes are skipped up
 * to the next newline, never buffered) and reading goes on, as for any other line that
 * is not a JSON-RPC message.
 */
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { isRecord } from './core/sql.js';

/** The SDK's limit, kept: results are capped well below it (§7). */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

/** A line that is a request the SDK would drop (its id can be read): answered with -32600. */
export class InvalidRequest extends Error {
  constructor(readonly id: string | number, message: string) {
    super(message);
  }
}

/** A request id or progress token as the SDK's schemas take them: a string or a safe integer. */
const isId = (v: unknown): v is string | number => typeof v === 'string' || Number.isSafeInteger(v);

/**
 * A request or notification in the shape every call of ours has, which the SDK's schemas
 * accept: no key but jsonrpc, id, method and params; params an object whose `_meta`, if
 * any, holds only a progress token. Checked here in a few property reads; anything else
 * goes through the SDK's own message schema.
 */
function plainlyValid(m: Record<string, unknown>): boolean {
  for (const key in m) if (key !== 'jsonrpc' && key !== 'id' && key !== 'method' && key !== 'params') return false;
  if (typeof m.method !== 'string' || ('id' in m && !isId(m.id))) return false;
  const params = m.params;
  if (params === undefined) return true;
  if (!isRecord(params)) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isRecord(meta)) return false;
  for (const key in meta) if (key !== 'progressToken') return false;
  return meta.progressToken === undefined || isId(meta.progressToken);
}

/**
 * A request in the common shape (plainlyValid, with an id): one the SDK's request schema
 * takes and its response and notification schemas refuse.
 */
export function isPlainRequest(m: unknown): m is JSONRPCRequest {
  return isRecord(m) && 'id' in m && m.jsonrpc === '2.0' && plainlyValid(m);
}

/**
 * A line as a JSON-RPC message. The SDK's dispatch checks each message's kind against the
 * request, notification and response schemas itself and drops, unanswered, whatever none of
 * them takes; so a line in the common shape (plainlyValid) goes to it unparsed, and only
 * another line is parsed against the union of those schemas here. One that fails is a
 * request answered with -32600 when its id can be read (InvalidRequest), else dropped. The
 * errors say where the message is wrong and never quote it: they reach the log, and a line
 * may hold a password.
 */
export function readMessage(line: string): JSONRPCMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('a stdin line is not JSON');
  }
  if (!isRecord(value) || value.jsonrpc !== '2.0') throw new Error('a stdin line is not a JSON-RPC 2.0 message (an object with "jsonrpc": "2.0")');
  if (plainlyValid(value)) return value as JSONRPCMessage;
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (parsed.success) return value as JSONRPCMessage;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.map(String).join('.').slice(0, 200) : '(message)';
  const why = `${where}: ${(issue?.message ?? 'not a request, notification or response').slice(0, 200)}`;
  if (typeof value.method === 'string' && isId(value.id)) throw new InvalidRequest(value.id, `Invalid Request: ${why}`);
  throw new Error(`a stdin line is not a JSON-RPC request, notification or response (${why})`);
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of the current line are being skipped: it is over the limit. */
  private skipping = false;
  private started = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('LineTransport already started');
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('error', this.onInputError);
  }

  private readonly onInputError = (error: Error): void => this.onerror?.(error);

  private readonly onData = (chunk: Buffer): void => {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.endLine(chunk.subarray(from, nl));
      from = nl + 1;
    }
    if (from < chunk.length) this.keep(chunk.subarray(from));
  };

  /** Keeps part of a line; false when the line is over the limit (and now skipped). */
  private keep(part: Buffer, copy = true): boolean {
    if (this.skipping) return false;
    if (part.length === 0) return true;
    if (this.size + part.length > this.maxLine) {
      this.parts = [];
      this.size = 0;
      this.skipping = true;
      this.onerror?.(new Error(`a stdin line is longer than ${this.maxLine} bytes: dropped (up to its newline)`));
      return false;
    }
    // Copied unless the line ends in this chunk: the chunk's buffer may be reused by the stream.
    this.parts.push(copy ? Buffer.from(part) : part);
    this.size += part.length;
    return true;
  }

  /** A line ends with `last`, its bytes in this chunk since the previous newline. */
  private endLine(last: Buffer): void {
    const kept = this.keep(last, false);
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    if (!kept || parts.length === 0) return;
    const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    const line = bytes.toString('utf8').replace(/\r$/, '');
    let message: JSONRPCMessage;
    try {
      message = readMessage(line);
    } catch (err) {
      // JSON-RPC 2.0: an invalid request whose id can be read gets an error, not silence.
      if (err instanceof InvalidRequest) void this.send({ jsonrpc: '2.0', id: err.id, error: { code: ErrorCode.InvalidRequest, message: err.message } });
      this.onerror?.(err as Error);
      return;
    }
    try {
      this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(err as Error);
    }
  }

  async close(): Promise<void> {
    this.input.off('data', this.onData);
    this.input.off('error', this.onInputError);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.parts = [];
    this.size = 0;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(serializeMessage(message))) resolve();
      else this.output.once('drain', resolve);
    });
  }
}
