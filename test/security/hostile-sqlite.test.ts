/**
 * Hostile SQL through the MCP tools on SQLite, read-only and read-write (run-hostile.ts):
 * zero effects that escape, zero writes through read-only mode.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { runHostile, summary, type HostileReport } from './run-hostile.js';

const backend = BACKENDS.find((b) => b.name === 'sqlite');
let report: HostileReport | undefined;

describe.skipIf(!backend)('hostile SQL on sqlite', () => {
  it('has no side effect in either mode', async () => {
    report = await runHostile(backend!, { limit: Number(process.env.HOSTILE_LIMIT) || undefined });
    expect(report.inputs).toBeGreaterThanOrEqual(60);
    expect(report.sideEffects).toEqual([]);
    expect(report.accepted).toEqual([]);
  }, 300_000);
  afterAll(() => summary('sqlite', report));
});
