/**
 * SQLite's named lock (Session.lock) as a row: SQLite has no session locks, and every
 * server instance on one file must see the same holder. The row is taken under BEGIN
 * IMMEDIATE. A holder on this machine whose process is gone (a SIGKILLed server) is
 * taken over; holders on other machines are waited for. No lease here: the file is on
 * this machine (SQLite over a network file system is not supported), so whether the
 * holder lives is known at once. The holder is the session's host process
 * (`<host>:<pid>`): two connections of one server (or two registries in one process) have
 * hosts of their own and exclude each other, and a row whose session ended without
 * deleting it is free as soon as that host is recycled (after every locked session).
 */
import { hostname } from 'node:os';
import { DbError } from '../../../errors.js';
import { LOCK_TABLE as LOCK_TABLE_NAME } from '../../bookkeeping.js';
import type { StatementResult } from '../../dialect.js';

// Qualified: a migration's ATTACH of a database with a table of this name must not capture it.
const LOCK_TABLE = `main."${LOCK_TABLE_NAME}"`;

/** The owner of a session's lock: its host process on this machine. */
export const lockOwner = (hostPid: number | null): string => `${hostname()}:${hostPid ?? process.pid}`;
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

/** Takes the lock for `owner`, polling until timeoutMs; false when another live holder kept it. */
export async function takeLock(send: Send, owner: string, name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  await send(`CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, taken_at TEXT NOT NULL)`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await send('BEGIN IMMEDIATE');
    let taken = false;
    try {
      const row = await lockRow(send, name);
      if (!row || row.holder === owner || holderIsDead(row.holder)) {
        await send(`INSERT OR REPLACE INTO ${LOCK_TABLE} (name, holder, taken_at) VALUES (?, ?, ?)`, [name, owner, new Date().toISOString()]);
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

/** Drops the lock if `owner` holds it. */
export async function releaseLock(send: Send, owner: string, name: string): Promise<void> {
  await send(`DELETE FROM ${LOCK_TABLE} WHERE name = ? AND holder = ?`, [name, owner]);
}

/** Whether `owner` still holds the lock. */
export async function holdsLock(send: Send, owner: string, name: string): Promise<boolean> {
  return (await lockRow(send, name))?.holder === owner;
}

/** Who holds the lock (a live process), or null. */
export async function lockHolder(send: Send, name: string): Promise<string | null> {
  const row = await lockRow(send, name);
  return row && !holderIsDead(row.holder) ? `server process ${row.holder}` : null;
}
