/** src/tiering.ts: which V8 flags the server sets, by V8 version and what the operator gave. */
import { describe, expect, it } from 'vitest';
import { flagsToSet, tieringFlags } from '../../src/tiering.js';

describe('V8 tiering thresholds', () => {
  it('are set per measured V8: 11 (Node 20) and 12 (Node 22); none for another', () => {
    expect(tieringFlags('11.3.244.8-node.38')).toEqual(['--interrupt-budget=4096']);
    expect(tieringFlags('12.4.254.21-node.33')).toEqual(['--invocation-count-for-turbofan=500']);
    for (const v of ['10.2.154.26-node.26', '13.6.233.10-node.20', '', 'x.y']) expect(tieringFlags(v)).toEqual([]);
  });

  it('leave alone a threshold the operator gave, in either spelling, and only that one', () => {
    const v = '11.3.244.8-node.38';
    expect(flagsToSet(v, [], undefined)).toEqual(['--interrupt-budget=4096']);
    expect(flagsToSet(v, ['--interrupt-budget=100000'], undefined)).toEqual([]);
    expect(flagsToSet(v, ['--interrupt_budget=100000'], undefined)).toEqual([]);
    expect(flagsToSet(v, ['--interrupt-budget-for-feedback-allocation=10', '--max-old-space-size=512', ''], undefined)).toEqual(['--interrupt-budget=4096']);
  });

  it('CODOMYRMEX_DB_V8_TIERING=default sets none; any other value is the same as unset', () => {
    expect(flagsToSet('11.3.244.8-node.38', [], 'default')).toEqual([]);
    expect(flagsToSet('11.3.244.8-node.38', [], '')).toEqual(['--interrupt-budget=4096']);
  });
});
