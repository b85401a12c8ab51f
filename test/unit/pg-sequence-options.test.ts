/**
 * The phrase a PostgreSQL column's `unportable` gives its identity's or serial's sequence
 * options (only those an identity made with defaults lacks), and the ALTER clauses a restore
 * from the portable definition makes of it: pure.
 */
import { describe, expect, it } from 'vitest';
import { identityOptionsSql, parseSequencePhrase, sequencePhrase, type SequenceOptions } from '../../src/core/backends/postgres/sequence-options.js';

const seq = (o: Partial<SequenceOptions>): SequenceOptions => ({ type: 'integer', start: '1', increment: '1', min: '1', max: '2147483647', cache: '1', cycle: false, ...o });

describe('PostgreSQL sequence options', () => {
  it('says only what differs from an identity of the type made with defaults', () => {
    expect(sequencePhrase(seq({}), 'integer')).toBeNull();
    expect(sequencePhrase(seq({ type: 'bigint', max: '9223372036854775807' }), 'bigint')).toBeNull();
    expect(sequencePhrase(seq({ start: '10001', increment: '3' }), 'integer')).toBe('sequence START WITH 10001 INCREMENT BY 3');
    // A start at a MINVALUE of its own is that minimum's default start; the minimum is said.
    expect(sequencePhrase(seq({ start: '100', min: '100' }), 'integer')).toBe('sequence MINVALUE 100');
    expect(sequencePhrase(seq({ type: 'smallint', start: '-1', increment: '-2', min: '-32768', max: '-1', cache: '5', cycle: true }), 'smallint')).toBe('sequence INCREMENT BY -2 CACHE 5 CYCLE');
    // A sequence of another type than its column (a serial from before PostgreSQL 10): said when anything else is.
    expect(sequencePhrase(seq({ type: 'bigint', max: '9223372036854775807' }), 'integer')).toBeNull();
    expect(sequencePhrase(seq({ type: 'bigint', max: '9223372036854775807', increment: '2' }), 'integer')).toBe('sequence AS bigint INCREMENT BY 2');
  });

  it('reads its phrases back, and nothing else', () => {
    expect(parseSequencePhrase('sequence START WITH 10001 INCREMENT BY 3')).toEqual({ options: { 'START WITH': 10001n, 'INCREMENT BY': 3n }, cycle: false });
    expect(parseSequencePhrase('sequence INCREMENT BY -2 CACHE 5 CYCLE')).toEqual({ options: { 'INCREMENT BY': -2n, CACHE: 5n }, cycle: true });
    expect(parseSequencePhrase('sequence AS bigint INCREMENT BY 2')?.as).toBe('bigint');
    for (const other of ['generated always as identity', 'sequence', 'sequence INCREMENT BY 3; DROP TABLE x', 'sequence CYCLE INCREMENT BY 2', 'sequence INCREMENT BY 3x']) expect(parseSequencePhrase(other), other).toBeNull();
  });

  it('sets every option on the identity a restore makes, the ones not said at their defaults for the direction', () => {
    expect(identityOptionsSql('sequence INCREMENT BY -2 CACHE 5 CYCLE', 'smallint')).toBe('SET INCREMENT BY -2 SET MINVALUE -32768 SET MAXVALUE -1 SET START WITH -1 SET CACHE 5 SET CYCLE RESTART');
    expect(identityOptionsSql('sequence MAXVALUE 99', 'bigint')).toBe('SET INCREMENT BY 1 SET MINVALUE 1 SET MAXVALUE 99 SET START WITH 1 SET CACHE 1 SET NO CYCLE RESTART');
    // Not carried: another sequence type, a bound the column's type cannot hold, a column type that is no integer.
    expect(identityOptionsSql('sequence AS bigint INCREMENT BY 2', 'integer')).toBeNull();
    expect(identityOptionsSql('sequence MAXVALUE 99999', 'smallint')).toBeNull();
    expect(identityOptionsSql('sequence INCREMENT BY 2', 'decimal(10,0)')).toBeNull();
  });
});
