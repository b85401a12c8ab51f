/**
 * F1. A stdin line that is JSON with jsonrpc 2.0 but no valid message now passes readMessage
 * and reaches the SDK Protocol, which reports it as `Unknown message type: <the whole message
 * as JSON>`; src/server.ts logs that cut to 500 characters *before* the logger redacts. A
 * configured password that straddles the cut is no longer whole, so neither the known-password
 * rule nor the `scheme://user:PASSWORD@` rule matches, and its head reaches the log.
 * 72c3dfa logged the zod issues of deserializeMessage, which hold no input values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFile } from '../faults/process.js';
import { Raw } from './harness.js';

const PASSWORD = 'Zq7SecretPassw0rdXy';
const URL_WITH_PASSWORD = `postgres://postgres:${PASSWORD}@127.0.0.1:5432/test`;

describe('F1: a dropped stdio message is logged without a configured password', () => {
  let s: Raw;
  beforeAll(async () => {
    s = new Raw(['--config', configFile({ db: { url: 'sqlite::memory:' }, secret: { url: URL_WITH_PASSWORD } }), '--log-level', 'warn']);
    await s.initialize();
  }, 30_000);
  afterAll(async () => { await s.stop(); });

  it('no 6-character head of the password reaches stderr, wherever the log cut falls', async () => {
    // A progressToken that is not an integer makes the request fail the SDK's request schema:
    // the line is dropped (no answer: F3) and logged. The pad moves the URL across character 500.
    for (let pad = 300; pad <= 360; pad++) {
      await s.line({ jsonrpc: '2.0', id: pad, method: 'tools/call', params: { name: 'get_connection', arguments: { note: 'x'.repeat(pad), url: URL_WITH_PASSWORD }, _meta: { progressToken: 1.5 } } });
    }
    const pong = await s.request('ping');
    expect(pong?.result).toBeTruthy();
    await new Promise((r) => setTimeout(r, 300));
    const heads = Array.from({ length: PASSWORD.length - 5 }, (_, i) => PASSWORD.slice(0, i + 6));
    const leaked = heads.filter((h) => s.stderr.includes(`:${h}"`) || s.stderr.includes(`:${h}\\`));
    expect(leaked, s.stderr.split('\n').find((l) => l.includes(`:${PASSWORD.slice(0, 6)}`))?.slice(-120)).toEqual([]);
    expect(s.stderr).not.toContain(PASSWORD);
    expect(s.badLines).toEqual([]);
  }, 30_000);
});
