/**
 * F2. params.task on a server that declares no tasks capability. c077a59 registers
 * tools/call beneath the SDK Server's wrapper, which refused a task of the wrong shape
 * (-32603 with its zod dump). Now a task the SDK's TaskMetadataSchema does not accept
 * (5, null, "later", {ttl:"x"}) is ignored and the tool runs, while a well-formed one
 * ({}, {ttl: 1000}) is still refused by the Protocol's assertTaskHandlerCapability, with
 * -32603 Internal error. The tasks spec (2025-11-25, "Task Support and Handling"): receivers
 * that do not declare the task capability for a request type MUST process requests of
 * that type normally, ignoring any task-augmentation metadata.
 */
import { describe, expect, it } from 'vitest';
import { rawServerPerSuite, type Json } from './harness.js';

const call = (task: unknown): Json => ({ name: 'execute_query', arguments: { connection: 'db', query: 'SELECT 1 AS one' }, task });
const SHAPES: Array<[string, unknown]> = [['5', 5], ['null', null], ['"later"', 'later'], ['{ttl:"x"}', { ttl: 'x' }], ['{}', {}], ['{ttl:1000}', { ttl: 1000 }]];

describe('F2: tools/call with params.task (no tasks capability declared)', () => {
  const server = rawServerPerSuite();

  it('the server declares no tasks capability', async () => {
    const s = server();
    const r = await s.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } });
    expect(r?.result?.capabilities?.tasks).toBeUndefined();
  });

  it('answers every shape of params.task alike (all run, or all refused with the same code)', async () => {
    const s = server();
    const kinds: Record<string, string> = {};
    for (const [label, task] of SHAPES) {
      const r = await s.request('tools/call', call(task));
      kinds[label] = r?.result ? 'ran' : `error ${r?.error?.code}`;
    }
    expect(new Set(Object.values(kinds)).size, JSON.stringify(kinds)).toBe(1);
  });

  it('processes a task-augmented call normally, as the tasks spec requires of a server without the capability', async () => {
    const s = server();
    for (const [label, task] of SHAPES) {
      const r = await s.request('tools/call', call(task));
      expect(r?.result?.structuredContent?.rows, `task ${label}: ${JSON.stringify(r)}`).toEqual([[1]]);
    }
  });
});
