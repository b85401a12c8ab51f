/**
 * Issue 14, PostgreSQL: from a read-only superuser connection to a database with
 * dblink, adminpack, pg_surgery and file_fdw installed, no attack in any notation
 * reads or writes a file, signals a session, changes a row or dials out, through
 * execute_query, execute_transaction and monitor_query_performance. The same attacks
 * are refused as escapes on a read-write connection, and run with the classifier
 * bypassed under the engine guard alone (the role in force) to prove that wall holds
 * by itself. Effects are read through raw connections, the file system and a listener.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginReadOnly, CONNECT_SQL, planGuard } from '../../src/core/backends/postgres/guard.js';
import { BACKENDS } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { createPgWitness, notations, type PgWitness } from './pg-attacks.js';

const pg = BACKENDS.find((b) => b.name === 'postgres');
const suite = pg ? describe : describe.skip;

/** Every text the tool result carries (rows or error), for the leak check: one place to adapt to result shapes. */
function outputOf(r: Awaited<ReturnType<typeof callTool>>): string {
  return JSON.stringify(r.ok ? r.data : r.error);
}

/**
 * Attacks that hold by the engine alone would be all of them, but two do not: dblink's
 * functions are EXECUTE-able by PUBLIC, and with a password in its connection string
 * a non-superuser role still dials out (the login then fails on trust auth). Those are
 * the classifier's alone (SPEC §6).
 */
const CLASSIFIER_ONLY = new Set(['dblink', 'dblink_connect']);

suite('PostgreSQL read-only guard against escapes (issue 14)', () => {
  let w: PgWitness;
  let h: Harness;
  const tally = { attacks: 0, notations: new Set<number>(), calls: 0, effects: 0 };

  beforeAll(async () => {
    w = await createPgWitness(pg!, (url, o) => postgres(url, o as never));
    h = await startInProcess({ ro: { url: w.url, read_only: true }, rw: { url: w.url } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await w?.close();
    console.log(`[security] pg: ${tally.attacks} attacks, ${tally.notations.size} notations, ${tally.calls} calls, ${tally.effects} effects`);
  });

  it('get_connection reports the engine guard: read-only transaction + role pg_read_all_data', async () => {
    const r = await callTool(h.client, 'get_connection', { connection: 'ro' });
    expect(r.ok && r.data.read_only_guard).toEqual({ engine: 'read-only transaction + role pg_read_all_data', classifier: true });
    const rw = await callTool(h.client, 'get_connection', { connection: 'rw' });
    expect(rw.ok && rw.data.read_only_guard).toBeUndefined();
  });

  const paths: Array<[string, string, (sql: string) => Record<string, unknown>]> = [
    ['ro', 'execute_query', (sql) => ({ connection: 'ro', query: sql })],
    ['ro', 'execute_transaction', (sql) => ({ connection: 'ro', queries: [{ query: 'SELECT 1' }, { query: sql }] })],
    ['ro', 'monitor_query_performance', (sql) => ({ connection: 'ro', query: sql, runs: 1 })],
    ['rw', 'execute_query', (sql) => ({ connection: 'rw', query: sql })],
    ['rw', 'execute_transaction', (sql) => ({ connection: 'rw', queries: [{ query: 'SELECT 1' }, { query: sql }] })],
  ];

  for (const [conn, tool, args] of paths) {
    it(`${conn} ${tool}: every attack in every notation is refused, with no effect`, async () => {
      const accepted: string[] = [];
      const effects: string[] = [];
      for (const attack of w.attacks) {
        for (const [i, sql] of notations(attack, conn === 'rw').entries()) {
          tally.notations.add(i);
          tally.calls++;
          const r = await callTool(h.client, tool, args(sql));
          if (r.ok) accepted.push(sql);
          else expect(r.error.code, sql).toBe(conn === 'ro' ? 'READ_ONLY_VIOLATION' : 'PERMISSION_DENIED');
          for (const e of await w.effects(outputOf(r))) effects.push(`${e}: ${sql}`);
        }
      }
      tally.attacks = w.attacks.length;
      tally.effects += effects.length;
      expect(effects).toEqual([]);
      expect(accepted).toEqual([]);
    }, 240_000);
  }

  it('class 3, statement side: the string settings cannot be changed inside execute_transaction, in any form', async () => {
    const trick = `SELECT 'x\\', $$', pg_read_file('${w.secretFile}') --$$`;
    const changes = [
      'SET standard_conforming_strings = off', 'SET LOCAL standard_conforming_strings TO off', 'set standard_conforming_strings=0',
      "SELECT set_config('standard_conforming_strings', 'off', true)", "SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false)",
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
      "DO $$ BEGIN PERFORM set_config('standard_conforming_strings', 'off', true); END $$",
      'SET backslash_quote = on', 'SET escape_string_warning = off', "SET client_encoding = 'SJIS'", "SET NAMES 'GBK'",
    ];
    const effects: string[] = [];
    for (const conn of ['ro', 'rw']) {
      for (const change of changes) {
        tally.calls++;
        const r = await callTool(h.client, 'execute_transaction', { connection: conn, queries: [{ query: change }, { query: trick }] });
        expect(r.ok, `${conn}: ${change}`).toBe(false);
        for (const e of await w.effects(outputOf(r))) effects.push(`${e}: ${change}`);
      }
    }
    tally.effects += effects.length;
    expect(effects).toEqual([]);
  });

  it('engine alone (classifier bypassed): the role in force cannot run any of them', async () => {
    const raw = postgres(w.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await raw.unsafe(CONNECT_SQL, [null] as never[], { simple: false } as never);
      const plan = planGuard(row, undefined);
      expect(plan.role).toBe('pg_read_all_data');
      const ran: string[] = [];
      const effects: string[] = [];
      for (const attack of w.attacks) {
        for (const sql of notations(attack, false)) {
          tally.calls++;
          const reserved = await raw.reserve();
          let out = '';
          try {
            await reserved.unsafe(beginReadOnly(plan.role, 30_000));
            out = JSON.stringify(await reserved.unsafe(sql, [], { simple: false } as never));
            if (!CLASSIFIER_ONLY.has(attack.fn)) ran.push(sql);
          } catch (err) {
            out = String((err as Error).message);
          } finally {
            await reserved.unsafe('rollback').catch(() => undefined);
            reserved.release();
          }
          const found = await w.effects(out);
          // An outbound dial by a classifier-only attack is expected here; anything else is not.
          for (const e of found) if (!(CLASSIFIER_ONLY.has(attack.fn) && /outbound/.test(e))) effects.push(`${e}: ${sql}`);
        }
      }
      tally.effects += effects.length;
      expect(effects).toEqual([]);
      expect(ran).toEqual([]);
    } finally {
      await raw.end({ timeout: 1 });
    }
  }, 240_000);
});
