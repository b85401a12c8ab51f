/**
 * SQLite's named lock (Session.lock) as a row: SQLite has no session locks, and every
 * server instance on one file must see the same holder. The row is taken under BEGIN
 * IMMEDIATE. A holder on this machine whose process is gone (a SIGKILLed server) is
 * taken over; holders on other machines are waited for.
 */
import { hostname } from 'node:os';
import { DbError } from '../../../errors.js';
import { LOCK_TABLE as LOCK_TABLE_NAME } from '../../bookkeeping.js';
import type { StatementResult } from '../../dialect.js';

// Qualified: a migration's ATTACH of a database with a table of this name must not capture it.
const LOCK_TABLE = `main."${LOCK_TABLE_NAME}"`;
const LOCK_OWNER = `${hostname()}:${process.pid}`;
const LOCK_POLL_MS = 100;

/** One statement on the session's host. */
export type Send = (text: string, params?: unknown[]) => Promise<StatementResult>;

async function lockRow(send: Send, name: string): Promise<{ holder: string } | null> {
  try {
    const { rows } = await send(`SELECT holder FROM ${LOCK_TABLE} WHERE name = ?`, [name]);
    return rows[0] ? { holder: String(rows[0].holder) } : null;
  } catch (err) {
    if (err instanceof DbError && err.code === 'UNDEFINED_OBJECT') return null;
    throw err;
  }
}

function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes the lock, polling until timeoutMs; false when another live holder kept it. */
export async function takeLock(send: Send, name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  await send(`CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, taken_at TEXT NOT NULL)`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await send('BEGIN IMMEDIATE');
    let taken = false;
    try {
      const row = await lockRow(send, name);
      if (!row || row.holder === LOCK_OWNER || holderIsDead(row.holder)) {
        await send(`INSERT OR REPLACE INTO ${LOCK_TABLE} (name, holder, taken_at) VALUES (?, ?, ?)`, [name, LOCK_OWNER, new Date().toISOString()]);
        taken = true;
      }
    } finally {
      await send('COMMIT');
    }
    if (taken) return true;
    if (Date.now() >= deadline || signal?.aborted) return false;
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/** Drops the lock if this process holds it. */
export async function releaseLock(send: Send, name: string): Promise<void> {
  await send(`DELETE FROM ${LOCK_TABLE} WHERE name = ? AND holder = ?`, [name, LOCK_OWNER]);
}

/** Who holds the lock (a live process), or null. */
export async function lockHolder(send: Send, name: string): Promise<string | null> {
  const row = await lockRow(send, name);
  return row && !holderIsDead(row.holder) ? `server process ${row.holder}` : null;
}
