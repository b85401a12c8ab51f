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
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The SDK's limit, kept: results are capped well below it (§7). */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

/**
 * A line as a JSON-RPC message: JSON, an object, `jsonrpc: "2.0"`. Which kind of message it
 * is, and whether its fields are right, the SDK's Protocol decides: it checks every message
 * against the response, request and notification schemas itself (an unknown kind goes to
 * onerror), so the SDK's deserializeMessage, which first parses the line against their
 * union, did that work twice on every call.
 */
export function readMessage(line: string): JSONRPCMessage {
  const value: unknown = JSON.parse(line);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || (value as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
    throw new Error('a stdin line is not a JSON-RPC 2.0 message (an object with "jsonrpc": "2.0")');
  }
  return value as JSONRPCMessage;
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
      this.keep(chunk.subarray(from, nl));
      this.endLine();
      from = nl + 1;
    }
    if (from < chunk.length) this.keep(chunk.subarray(from));
  };

  private keep(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    if (this.size + part.length > this.maxLine) {
      this.parts = [];
      this.size = 0;
      this.skipping = true;
      this.onerror?.(new Error(`a stdin line is longer than ${this.maxLine} bytes: dropped (up to its newline)`));
      return;
    }
    // Copied: the chunk's buffer may be reused by the stream.
    this.parts.push(Buffer.from(part));
    this.size += part.length;
  }

  private endLine(): void {
    const parts = this.parts;
    const skipped = this.skipping;
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    if (skipped || parts.length === 0) return;
    const line = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
    let message: JSONRPCMessage;
    try {
      message = readMessage(line);
    } catch (err) {
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
