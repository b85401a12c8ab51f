/**
 * tools/call requests of every wrong shape, over the real stdio server: the handler reads
 * `params` itself (src/tools/kit.ts callParams), beneath the SDK Server's own parsing.
 * Each wrong shape of an object `params` gets a JSON-RPC error -32602 that names what is
 * wrong; a right shape with wrong arguments gets the tool's INVALID_INPUT result; `_meta`
 * with or without a progress token changes nothing else; the server answers on. (A
 * `params` that is not an object never reaches the handler: the SDK's dispatch drops
 * such a message, test/faults/stdio-malformed.test.ts.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { configFile, RawServer } from '../faults/process.js';

type Json = Record<string, any>;

describe('tools/call params of every shape', () => {
  let s: RawServer;
  beforeAll(async () => {
    s = new RawServer(['--config', configFile({ db: { url: `sqlite://${join(tempDir('cmx-tcs-'), 'a.db')}` } })]);
    expect(await s.initialize()).toBeTruthy();
  }, 30_000);
  afterAll(async () => { await s.stop(); });

  const protocolError = async (params: unknown): Promise<Json> => {
    const r = await s.request('tools/call', params as Json);
    expect(r?.result, JSON.stringify(r)).toBeUndefined();
    expect(r?.error?.code).toBe(-32602);
    return r?.error;
  };

  it('refuses params that are not an object, or a name that is not a string, naming params.name', async () => {
    for (const params of [undefined, {}, { name: 42 }, { name: null }, { name: ['execute_query'] }, { name: { n: 1 } }, { arguments: { query: 'SELECT 1' } }]) {
      const err = await protocolError(params);
      expect(err.message).toMatch(/params\.name/);
    }
  });

  it('refuses arguments that are not an object, and an unknown tool, by name', async () => {
    for (const args of ['SELECT 1', [1], 5, true, null]) {
      const err = await protocolError({ name: 'execute_query', arguments: args });
      expect(err.message).toMatch(/params\.arguments must be an object/);
    }
    const err = await protocolError({ name: 'rm_rf', arguments: {} });
    expect(err.message).toMatch(/Tool rm_rf not found/);
  });

  it('gives wrong arguments the tool result INVALID_INPUT, and takes missing arguments as {}', async () => {
    const bad = await s.request('tools/call', { name: 'execute_query', arguments: { query: 5 } });
    expect(bad?.result?.isError).toBe(true);
    expect(JSON.parse(bad?.result?.content?.[0]?.text).error.code).toBe('INVALID_INPUT');
    const missing = await s.request('tools/call', { name: 'list_connections' });
    expect(missing?.result?.isError, JSON.stringify(missing)).toBeFalsy();
    expect(missing?.result?.structuredContent).toBeTruthy();
  });

  it('answers with the same result whatever _meta holds', async () => {
    for (const meta of [{ progressToken: 'p1' }, { progressToken: 9 }, {}, { other: [1] }]) {
      const r = await s.request('tools/call', { name: 'execute_query', arguments: { connection: 'db', query: 'SELECT 1 AS one' }, _meta: meta });
      expect(r?.result?.structuredContent?.rows, JSON.stringify(r)).toEqual([[1]]);
    }
    expect(s.badLines).toEqual([]);
    expect(s.alive()).toBe(true);
  });
});
