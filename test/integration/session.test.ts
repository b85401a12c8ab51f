/**
 * A pooled connection goes back clean: what one call changes on its session
 * (settings, variables, temporary tables, locks) is gone for the next call.
 * Pools of one connection, so the next call surely gets the same one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness, rowsOf } from '../support/mcp.js';

interface Case {
  change: string;
  probe: string;
  /** Expected probe rows, or an error code the probe must fail with. */
  expect: unknown[] | string;
}

const CASES: Record<TestBackend['name'], Case[]> = {
  postgres: [
    { change: 'SET search_path TO nowhere', probe: 'SHOW search_path', expect: [{ search_path: '"$user", public' }] },
    { change: `SELECT set_config('application_name', 'leaked', false)`, probe: 'SHOW application_name', expect: [{ application_name: 'codomyrmex-db' }] },
    { change: 'SET statement_timeout = 0', probe: 'SHOW statement_timeout', expect: [{ statement_timeout: '30s' }] },
    { change: 'CREATE TEMP TABLE cmx_tmp (a int)', probe: 'SELECT * FROM cmx_tmp', expect: 'UNDEFINED_OBJECT' },
    { change: 'SELECT pg_advisory_lock(424242)', probe: `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242`, expect: [{ n: 0 }] },
    { change: 'PREPARE cmx_p AS SELECT 1', probe: `SELECT count(*) AS n FROM pg_prepared_statements WHERE name = 'cmx_p'`, expect: [{ n: 0 }] },
  ],
  mysql: [
    { change: 'SET @cmx_x = 5', probe: 'SELECT @cmx_x AS x', expect: [{ x: null }] },
    { change: `SET SESSION time_zone = '+05:00'`, probe: 'SELECT @@session.time_zone AS tz', expect: [{ tz: '+00:00' }] },
    { change: 'CREATE TEMPORARY TABLE cmx_tmp (a int)', probe: 'SELECT * FROM cmx_tmp', expect: 'UNDEFINED_OBJECT' },
    { change: `SELECT GET_LOCK('cmx_lock', 0)`, probe: `SELECT IS_FREE_LOCK('cmx_lock') AS free`, expect: [{ free: 1 }] },
  ],
  sqlite: [
    { change: 'PRAGMA foreign_keys = OFF', probe: 'PRAGMA foreign_keys', expect: [{ foreign_keys: 1 }] },
    { change: 'CREATE TEMP TABLE cmx_tmp (a)', probe: 'SELECT * FROM cmx_tmp', expect: 'UNDEFINED_OBJECT' },
  ],
};

/**
 * Functions that change the session from inside an innocent-looking SELECT.
 * `probe` runs on the same (single) connection; `lockProbe` on the read-write one,
 * where a lock still held by the other connection would show as taken.
 */
const SNEAKY: Partial<Record<TestBackend['name'], { create: string[]; drop: string[]; call: string; probe: string; expect: unknown[]; lockProbe: string; lockFree: unknown[] }>> = {
  postgres: {
    create: [`CREATE OR REPLACE FUNCTION cmx_sneaky() RETURNS int LANGUAGE sql AS $$ SELECT set_config('search_path', 'nowhere', false); SELECT pg_advisory_lock(515151); SELECT 1 $$`],
    drop: ['DROP FUNCTION IF EXISTS public.cmx_sneaky()'],
    call: 'SELECT public.cmx_sneaky() AS x',
    probe: `SELECT current_setting('search_path') AS sp`,
    expect: [{ sp: '"$user", public' }],
    lockProbe: `SELECT count(*) AS locks FROM pg_locks WHERE locktype = 'advisory' AND objid = 515151`,
    lockFree: [{ locks: 0 }],
  },
  mysql: {
    create: ['DROP FUNCTION IF EXISTS cmx_sneaky', `CREATE FUNCTION cmx_sneaky() RETURNS INT NO SQL BEGIN SET @cmx_leak = 'leaked'; RETURN GET_LOCK('cmx_sneaky_lock', 0); END`],
    drop: ['DROP FUNCTION IF EXISTS cmx_sneaky'],
    call: 'SELECT cmx_sneaky() AS x',
    probe: 'SELECT @cmx_leak AS v',
    expect: [{ v: null }],
    lockProbe: `SELECT IS_FREE_LOCK('cmx_sneaky_lock') AS free`,
    lockFree: [{ free: 1 }],
  },
};

describe.each(BACKENDS.filter((b) => SNEAKY[b.name]))('session changes made by functions on $name', (backend) => {
  it('do not leak to the next call, on read-write and read-only connections', async () => {
    const url = backend.url();
    const h = await startInProcess({ rw: { url, pool_size: 1 }, ro: { url, pool_size: 1, read_only: true } });
    const s = SNEAKY[backend.name]!;
    try {
      for (const q of s.create) await mustCall(h.client, 'execute_query', { connection: 'rw', query: q });
      for (const connection of ['rw', 'ro']) {
        await mustCall(h.client, 'execute_query', { connection, query: s.call });
        const r = await mustCall(h.client, 'execute_query', { connection, query: s.probe });
        expect(rowsOf(r)).toEqual(s.expect);
        const l = await mustCall(h.client, 'execute_query', { connection: 'rw', query: s.lockProbe });
        expect(rowsOf(l)).toEqual(s.lockFree);
      }
    } finally {
      for (const q of s.drop) await callTool(h.client, 'execute_query', { connection: 'rw', query: q });
      await h.close();
    }
  });
});

describe.each(BACKENDS)('sessions on $name', (backend) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startInProcess({ rw: { url: backend.url(), pool_size: 1 } });
  });

  afterAll(async () => {
    await h.close();
  });

  it.each(CASES[backend.name])('$change does not leak to the next call', async ({ change, probe, expect: want }) => {
    await mustCall(h.client, 'execute_query', { connection: 'rw', query: change });
    const r = await callTool(h.client, 'execute_query', { connection: 'rw', query: probe });
    if (typeof want === 'string') {
      expect(r.ok ? 'ok' : r.error.code).toBe(want);
    } else {
      expect(r.ok ? rowsOf(r.data) : r.error).toEqual(want);
    }
  });
});
