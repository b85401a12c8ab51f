/**
 * Bounds shared by every dialect: a gate that limits concurrent calls per
 * connection (with a bounded wait, then BUSY), and a collector that caps result
 * rows and bytes so memory never grows with table size.
 */
import { DbError } from '../errors.js';
import type { Row } from './dialect.js';
import { jsonByteLength, toJsonValue } from './sql.js';

export interface Gate {
  /** Resolves with a release function once a slot is free; BUSY after the wait limit. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  readonly busy: number;
  readonly waiting: number;
}

export function createGate(max: number, acquireTimeoutMs: number): Gate {
  let busy = 0;
  const queue: Array<() => void> = [];
  const releaseOne = (): void => {
    const next = queue.shift();
    if (next) next();
    else busy--;
  };
  const makeRelease = (): (() => void) => {
    let done = false;
    return () => {
      if (!done) {
        done = true;
        releaseOne();
      }
    };
  };
  return {
    get busy() { return busy; },
    get waiting() { return queue.length; },
    acquire(signal) {
      if (busy < max) {
        busy++;
        return Promise.resolve(makeRelease());
      }
      return new Promise((resolve, reject) => {
        const grant = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(makeRelease());
        };
        const leave = (err: DbError): void => {
          const i = queue.indexOf(grant);
          if (i >= 0) queue.splice(i, 1);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = (): void => leave(new DbError('CANCELLED', 'cancelled while waiting for a free connection'));
        const timer = setTimeout(
          () => leave(new DbError('BUSY', `all ${max} connections stayed busy for ${acquireTimeoutMs} ms; try again later`, { pool_size: max, waited_ms: acquireTimeoutMs })),
          acquireTimeoutMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
      });
    },
  };
}

/**
 * Result column names made unique: a JOIN of two tables with an `id` column must
 * not lose one of them, so later duplicates become `id_2`, `id_3` ...
 */
export function uniqueColumnNames(names: string[]): string[] {
  const seen = new Set<string>();
  // Where each name's suffix search goes on: 16,000 columns named `1` took 29 s when every
  // repeat counted up from 2 again (a SELECT list has no length limit on MariaDB).
  const nextSuffix = new Map<string, number>();
  return names.map((name) => {
    let key = name;
    let n = nextSuffix.get(name) ?? 2;
    while (seen.has(key)) key = `${name}_${n++}`;
    nextSuffix.set(name, n);
    seen.add(key);
    return key;
  });
}

/** Collects rows (arrays of driver values, in column order) until max_rows or max_bytes is reached. */
export class RowCollector {
  readonly rows: Row[] = [];
  truncated = false;
  private bytes = 0;
  private keys: string[] = [];

  constructor(private readonly maxRows: number, private readonly maxBytes: number) {}

  /** Sets the column names (made unique) that key each row; returns them. */
  setColumns(names: string[]): string[] {
    this.keys = uniqueColumnNames(names);
    return this.keys;
  }

  get hasColumns(): boolean {
    return this.keys.length > 0;
  }

  /** Adds one row; returns false once the result is full (and marks it truncated). */
  add(values: unknown[]): boolean {
    if (this.truncated) return false;
    if (this.rows.length >= this.maxRows) {
      this.truncated = true;
      return false;
    }
    // fromEntries defines own properties, so a column named __proto__ stays a column.
    const row: Row = Object.fromEntries(this.keys.map((k, i) => [k, toJsonValue(values[i])]));
    const size = jsonByteLength(row);
    if (this.bytes + size > this.maxBytes) {
      this.truncated = true;
      return false;
    }
    this.bytes += size;
    this.rows.push(row);
    return true;
  }
}

/** Milliseconds since `start` (a performance.now() value), rounded to 0.001. */
export function elapsedSince(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000;
}

/** Opening a connection (TCP, TLS, startup, authentication) ends within this, for PostgreSQL and MySQL (SPEC §7). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The largest single protocol message (a row, a COPY line) read from a database.
 * Checked on its header, before its body is read: one value cannot take the server's
 * memory, and a result over max_bytes (at most 2 MiB) could not be returned anyway.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * `work`, or the error `onTimeout()` returns after `ms`. A result that arrives late is
 * handed to `late` (to release what it holds).
 */
export function withDeadline<T>(work: Promise<T>, ms: number, late: (p: Promise<T>) => void, onTimeout: () => Error): Promise<T> {
  // One promise, not a race of two and a finally: this runs twice per PostgreSQL call.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      late(work);
      reject(onTimeout());
    }, ms);
    work.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, (err: unknown) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Waits for `work` (none: nothing to wait for) at most `ms`; its failure or lateness is not the caller's. */
export async function waitAtMost(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work) await withDeadline(work, ms, () => undefined, () => new Error('not done in time')).catch(() => undefined);
}
