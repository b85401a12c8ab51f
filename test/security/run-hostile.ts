/**
 * Runs the hostile SQL of cases.ts through the MCP tools (execute_query,
 * execute_transaction, monitor_query_performance) on a read-only and a read-write
 * connection of one backend, and after each input checks every effect through
 * channels the server does not control (effects.ts). Effects are collected, not
 * thrown, so one run reports all of them.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { BACKENDS, type TestBackend } from '../support/backends.js';
import { hostileCases, type HostileCase } from './cases.js';
import { rmSync } from 'node:fs';
import { createFixture, sessionState, snapshot, type Fixture, type Snapshot } from './effects.js';

export interface HostileReport {
  inputs: number;
  calls: number;
  refusedReadOnly: number;
  /** Effects that must never happen: the suite asserts this list is empty. */
  sideEffects: string[];
  /** Read-write effects of inputs marked as a documented limit (cases.ts `limit`). */
  limits: string[];
  /** Inputs a read-only connection accepted although they are not marked benign. */
  accepted: string[];
}

const TOOLS = ['execute_query', 'execute_transaction', 'monitor_query_performance'] as const;

function argsFor(tool: (typeof TOOLS)[number], connection: string, sql: string): Record<string, unknown> {
  if (tool === 'execute_query') return { connection, query: sql };
  if (tool === 'execute_transaction') return { connection, queries: [{ query: 'SELECT 1' }, { query: sql }] };
  return { connection, query: sql, runs: 1 };
}

/** Files a read-write SQLite statement may legitimately leave beside its database. */
const isJournal = (f: string): boolean => /-(wal|shm|journal)$/.test(f);

export async function runHostile(backend: TestBackend, opts: { limit?: number } = {}): Promise<HostileReport> {
  const f = await createFixture(backend);
  const conn = { url: f.url, pool_size: 1, migrations_dir: f.migrationsDir, statement_timeout_ms: 10_000 };
  const h = await startInProcess({ rw: conn, ro: { ...conn, read_only: true } });
  const report: HostileReport = { inputs: 0, calls: 0, refusedReadOnly: 0, sideEffects: [], limits: [], accepted: [] };
  try {
    const base = await snapshot(h, f);
    const session = { ro: await sessionState(h, f, 'ro'), rw: await sessionState(h, f, 'rw') };
    if (session.ro.startsWith('error') || session.rw.startsWith('error')) throw new Error(`session probe fails: ${session.ro} ${session.rw}`);
    const cases = hostileCases(backend.name, { out: (tag) => join(f.outDir, tag), outDir: f.outDir, peer: f.peerId(), account: f.account });
    for (const c of cases.slice(0, opts.limit)) {
      report.inputs++;
      const tools = c.disguise ? TOOLS.slice(0, 1) : TOOLS;
      const roOk = await phase(h, c, 'ro', tools, report);
      const { out: effects } = await effectsAfter(h, f, base, session.ro, 'ro', true);
      await phase(h, c, 'rw', tools, report);
      // A statement the read-only classifier let through must not write when it runs for real.
      const { out: rwEffects, now } = await effectsAfter(h, f, base, session.rw, 'rw', roOk);
      for (const e of effects) report.sideEffects.push(`${c.id} ${JSON.stringify(c.sql)}: ${e}`);
      for (const e of rwEffects) (c.limit ? report.limits : report.sideEffects).push(`${c.id} ${JSON.stringify(c.sql)}: rw: ${e}`);
      if (!roOk) report.refusedReadOnly++;
      else if (!c.benign) report.accepted.push(`${c.id} ${JSON.stringify(c.sql)}`);
      if (JSON.stringify(now.rows) !== JSON.stringify(base.rows) || now.schema !== base.schema) await f.restore();
    }
  } finally {
    await h.close();
    await f.drop();
  }
  return report;
}

/** Runs the input through every tool on one connection; true when the read-only execute_query accepted it. */
async function phase(h: Harness, c: HostileCase, connection: 'ro' | 'rw', tools: readonly (typeof TOOLS)[number][], report: HostileReport): Promise<boolean> {
  let accepted = false;
  for (const tool of tools) {
    report.calls++;
    const r = await callTool(h.client, tool, argsFor(tool, connection, c.sql), { timeout: 30_000 }).catch((err: Error) => ({ ok: false as const, error: { code: 'CLIENT', message: err.message, details: {} }, raw: null }));
    if (tool === 'execute_query' && r.ok) accepted = true;
  }
  return accepted;
}

async function effectsAfter(h: Harness, f: Fixture, base: Snapshot, session: string, connection: 'ro' | 'rw', dataMustStay: boolean): Promise<{ out: string[]; now: Snapshot }> {
  const out: string[] = [];
  const now = await snapshot(h, f);
  const files = now.files.filter((x) => !isJournal(x));
  const baseFiles = base.files.filter((x) => !isJournal(x));
  if (JSON.stringify(files) !== JSON.stringify(baseFiles)) out.push(`files changed: ${files.filter((x) => !baseFiles.includes(x)).join(', ') || 'a file disappeared'}`);
  if (dataMustStay) {
    if (JSON.stringify(now.rows) !== JSON.stringify(base.rows)) out.push(`rows changed: ${JSON.stringify(now.rows)}`);
    if (now.schema !== base.schema) out.push('schema changed');
  }
  const s = await sessionState(h, f, connection);
  if (s !== session) out.push(`session of the next call changed: ${s} (was ${session})`);
  const locks = await f.locksHeld();
  if (locks > 0) out.push(`${locks} advisory/named lock(s) still held`);
  if (!(await f.peerAlive())) out.push('the peer session was killed');
  if (!(await f.canLogin())) out.push('the account can no longer log in');
  const other = await callTool(h.client, 'execute_query', { connection: connection === 'ro' ? 'rw' : 'ro', query: 'SELECT 1 AS one' });
  if (!other.ok) out.push(`the other connection fails: ${other.error.code}`);
  if (out.length > 0) {
    // Put things back so the next input is judged on its own.
    for (const x of files) if (!baseFiles.includes(x)) rmSync(x, { force: true, recursive: true });
    await callTool(h.client, 'close_connection', { connection: 'ro' });
    await callTool(h.client, 'close_connection', { connection: 'rw' });
    await f.restore();
  }
  return { out, now };
}

/** The one line each hostile file prints at its end (stderr), whatever happened. */
export function summary(backend: string, r: HostileReport | undefined): void {
  if (!r) return console.error(`[security] hostile ${backend}: did not complete`);
  console.error(`[security] hostile ${backend}: inputs tried ${r.inputs}, tool calls ${r.calls}, refused on read-only ${r.refusedReadOnly}, accepted on read-only ${r.accepted.length}, side effects found ${r.sideEffects.length}, documented limits hit ${r.limits.length}`);
  for (const e of [...r.sideEffects, ...r.accepted].slice(0, Number(process.env.SHOW_EFFECTS ?? 10))) console.error(`[security]   ${e}`);
}

/**
 * The whole suite for one backend (one file per backend, so vitest runs them in
 * parallel): zero side effects, zero hostile inputs accepted on read-only, a summary line.
 * HOSTILE_LIMIT=n runs the first n inputs only (debugging).
 */
export function hostileSuite(name: TestBackend['name']): void {
  const backend = BACKENDS.find((b) => b.name === name);
  let report: HostileReport | undefined;
  describe.skipIf(!backend)(`hostile SQL on ${name}`, () => {
    it('has no side effect in either mode', async () => {
      report = await runHostile(backend!, { limit: Number(process.env.HOSTILE_LIMIT) || undefined });
      if (!process.env.HOSTILE_LIMIT) expect(report.inputs).toBeGreaterThanOrEqual(60);
      expect(report.sideEffects).toEqual([]);
      expect(report.accepted).toEqual([]);
    }, 300_000);
    afterAll(() => summary(name, report));
  });
}
