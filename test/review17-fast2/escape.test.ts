/**
 * Review 2 of the fast path (6eb0aa5), critical: the budget is lost when its deadline passes
 * between the end of the prepare and the statement's first step. The watchdog calls
 * sqlite3_interrupt once and forgets the deadline (deadline_ns = 0); sqlite3_step clears the
 * interrupt flag when no other statement of the connection is active (sqlite3.c, sqlite3Step:
 * "prevents a call to sqlite3_interrupt from interrupting a statement that has not yet
 * started"). Anything between the prepare and the first step that takes longer than the rest of
 * the budget (binding the agent's parameters, which runOne does in iterate(); a GC pause; the
 * OS descheduling the thread on a loaded VM) leaves the read running with no budget, on the
 * server's event loop, until it ends. Reproduction: 1,000 parameters of 16,000 characters that
 * the parser drops (`0 AND ?AND?...`) but better-sqlite3 still binds, on a cross join of 8e9 rows.
 *
 * The scenario runs in a child vitest process (child/hang-child.test.ts): when the finding holds
 * that process never answers again and is killed here, with its process group, after 40 s.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function runChild(env: Record<string, string>, limitMs: number): Promise<{ out: string; killed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn('npx', ['vitest', 'run', 'test/review17-fast2/child/hang-child.test.ts'], {
      cwd: process.cwd(), env: { ...process.env, ...env, CODOMYRMEX_SQLITE_BUDGET_MS: '' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, limitMs);
    child.on('exit', () => { clearTimeout(timer); resolve({ out, killed, ms: Math.round(performance.now() - start) }); });
  });
}

describe('review17-2: the budget survives the gap between prepare and first step', () => {
  it('E1 parameters bound after the prepare outlast the budget: the read then runs unbounded in the server (child killed after 40 s)', async () => {
    const r = await runChild({ CMX_REVIEW_CHILD: 'bind', CMX_PARAMS: '1000', CMX_PARAM_BYTES: '16000', CMX_RUNS: '2' }, 40_000);
    const stalls = [...r.out.matchAll(/STALL\D*(\d+)/g)].map((m) => Number(m[1]));
    console.log('E1 child', { killed: r.killed, ms: r.ms, stalls });
    expect(r.killed, 'the server process never answered again').toBe(false);
    // Sending 16 MB of parameters to the host costs some ms of its own; far from seconds.
    for (const s of stalls) expect(s).toBeLessThan(1000);
  }, 120_000);
});
