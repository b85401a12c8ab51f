/**
 * retryLostRead, the policy behind "reads retried, writes never" (SPEC §7, connection
 * loss): which failures it waits out, how often a lost read runs again, and that a
 * cancel or an unrelated error answers at once. The database side is covered by
 * test/faults/db-restart.test.ts; here the read is a plain function.
 */
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { DbError } from '../../src/errors.js';
import { READ_RECOVERY_MS, retryLostRead } from '../../src/core/recovery.js';

const logger = pino({ level: 'silent' });
const lost = (): DbError => new DbError('CONNECTION_LOST', 'the connection to the database was lost');
const refused = (): DbError => new DbError('CONNECTION_FAILED', 'connect ECONNREFUSED', { driver_code: 'ECONNREFUSED' });

/** A read that fails with the given errors in turn, then answers 'rows'; records when each attempt ran. */
function script(...failures: Array<() => DbError>): { read: () => Promise<string>; times: number[] } {
  const times: number[] = [];
  let i = 0;
  const start = Date.now();
  return {
    times,
    read: async () => {
      times.push(Date.now() - start);
      const f = failures[i++];
      if (f) throw f();
      return 'rows';
    },
  };
}

const retired = (): DbError => new DbError('CONNECTION_LOST', 'the connection to the database was lost; its pool was replaced or closed', { driver_code: 'POOL_RETIRED' });

describe('retryLostRead', () => {
  it('does not count sessions of a pool another call retired as lost executions (nothing ran)', async () => {
    const s = script(lost, retired, retired, retired, lost);
    await expect(retryLostRead(s.read, logger)).resolves.toBe('rows');
    expect(s.times).toHaveLength(6);
    const t = script(lost, lost, lost);
    await expect(retryLostRead(t.read, logger)).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it('runs a read that lost its connection again at once', async () => {
    const s = script(lost);
    await expect(retryLostRead(s.read, logger)).resolves.toBe('rows');
    expect(s.times).toHaveLength(2);
    expect(s.times[1]! - s.times[0]!).toBeLessThan(50);
  });

  it('waits out refused connects (a restarting database) with growing pauses', async () => {
    const s = script(lost, refused, refused, refused);
    await expect(retryLostRead(s.read, logger)).resolves.toBe('rows');
    expect(s.times).toHaveLength(5);
    const gaps = s.times.slice(1).map((t, i) => t - s.times[i]!);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    expect(gaps[3]).toBeGreaterThanOrEqual(395);
  });

  it('tries again when a new connection is closed before the handshake (a server being killed still accepts for a moment)', async () => {
    const closed = (): DbError => new DbError('CONNECTION_FAILED', '127.0.0.1:3306 closed the connection before the MySQL handshake completed', { driver_code: 'PROTOCOL_CONNECTION_LOST', peer_closed: true });
    const s = script(lost, closed, refused);
    await expect(retryLostRead(s.read, logger)).resolves.toBe('rows');
    expect(s.times).toHaveLength(4);
  });

  it('does not run a read a fourth time after three lost connections', async () => {
    const s = script(lost, lost, lost);
    await expect(retryLostRead(s.read, logger)).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
    expect(s.times).toHaveLength(3);
  });

  it('answers at once for errors that waiting cannot fix', async () => {
    for (const err of [
      () => new DbError('CONNECTION_FAILED', 'getaddrinfo ENOTFOUND', { driver_code: 'ENOTFOUND' }),
      () => new DbError('CONNECTION_FAILED', 'database "x" does not exist', { sqlstate: '3D000' }),
      () => new DbError('SYNTAX_ERROR', 'syntax error'),
      () => new DbError('TIMEOUT', 'stopped'),
    ]) {
      const s = script(err);
      await expect(retryLostRead(s.read, logger)).rejects.toBeInstanceOf(DbError);
      expect(s.times).toHaveLength(1);
    }
  });

  it('gives up READ_RECOVERY_MS after the first failure', async () => {
    vi.useFakeTimers();
    try {
      const s = script(...Array.from({ length: 50 }, () => refused));
      const outcome = expect(retryLostRead(s.read, logger)).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
      await vi.advanceTimersByTimeAsync(READ_RECOVERY_MS * 2);
      await outcome;
      // Pauses of 100, 200, 400, 800, then 1000 ms: the last attempt fits before the deadline, the next would not.
      expect(s.times.at(-1)).toBeLessThanOrEqual(READ_RECOVERY_MS);
      expect(s.times.at(-1)).toBeGreaterThan(READ_RECOVERY_MS - 1000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops waiting when the call is cancelled', async () => {
    const s = script(lost, refused, refused, refused, refused);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    await expect(retryLostRead(s.read, logger, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(s.times.length).toBeLessThan(5);
  });
});
