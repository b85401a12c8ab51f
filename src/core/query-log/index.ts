/**
 * The query log: every agent statement's fingerprint, tool, duration, rows and error
 * code, kept in memory (a ring of recent entries and per-fingerprint aggregates, both
 * bounded) and optionally persisted to a SQLite file (store.ts).
 *
 * `record` sits on every statement's path, so it only queues the raw record (well
 * under a microsecond); fingerprinting and aggregation run in a batch on the next
 * turn of the event loop (setImmediate), after the tool's answer is on its way, and
 * every reader drains the queue first. The raw text lives only in that queue;
 * parameters never reach the log at all.
 */
import type { Logger } from 'pino';
import type { QueryLogConfig } from '../../config.js';
import { fingerprint } from '../performance/fingerprint.js';
import type { SqlSupport } from '../backends/contract/sql.js';
import { openQueryStore, type QueryStore } from './store.js';
import type { FingerprintSummary, LogEntry, LogTotals } from './types.js';

export type { FingerprintSummary, LogEntry, LogTotals } from './types.js';

interface Pending {
  connection: string;
  tool: string;
  /** The statement's backend (module.sql): how to fingerprint it. */
  flavor: SqlSupport;
  text: string;
  ms: number;
  rows: number;
  error: string | null;
  at: number;
}

/** What a fingerprint's calls add up to, in the aggregates and in a `since` window alike. */
interface Totals extends Omit<FingerprintSummary, 'mean_ms' | 'p95_ms' | 'tools'> {
  tools: Set<string>;
}

interface Aggregate extends Totals {
  sample: Float64Array;
}

/** One connection's share of the log: its fingerprints and its totals. */
interface ConnectionLog {
  aggregates: Map<string, Aggregate>;
  statements: number;
  errors: number;
  since: number;
}

/** Durations kept per fingerprint for its p95 (a reservoir: uniform over all calls). */
export const SAMPLE_SIZE = 100;
/** Fingerprints kept per connection; the least recently seen is forgotten first. */
export const MAX_FINGERPRINTS = 2000;
/** A burst larger than this is drained at once instead of waiting for the next turn. */
const MAX_PENDING = 10_000;
/** Persisted entries are written in batches: at most this many, or this often (QueryLogOptions.flushMs). */
const STORE_BATCH = 500;
const STORE_EVERY_MS = 1000;

export interface QueryLogOptions {
  /**
   * `redact` runs over every fingerprint before it is kept: an agent may type a
   * password as an identifier (`SELECT * FROM \`pw\``), which a fingerprint keeps and the
   * store would write to disk. Default: none (tests of the log itself).
   */
  redact?: (text: string) => string;
  /**
   * How long entries may wait before they are written to the file (default 1 s). 0 writes
   * each batch as soon as it is fingerprinted: stateless instances behind a balancer share
   * one file, and the next request (on another instance) should find the entry there.
   */
  flushMs?: number;
}

export class QueryLog {
  private pending: Pending[] = [];
  private draining = false;
  private readonly ring: Array<LogEntry | undefined>;
  private head = 0;
  /** `at` of the newest entry the ring has overwritten: `since` windows reaching further back are incomplete. */
  private lastDroppedAt = -Infinity;
  private readonly connections = new Map<string, ConnectionLog>();
  private random = 0x9e3779b9;
  private store: QueryStore | null = null;
  private storeOpening: Promise<void> | null = null;
  private unsaved: LogEntry[] = [];
  private saveTimer: NodeJS.Timeout | null = null;

  private readonly redact: (text: string) => string;
  private readonly flushMs: number;

  constructor(private readonly config: QueryLogConfig, private readonly logger: Logger, options: QueryLogOptions = {}) {
    this.redact = options.redact ?? ((t) => t);
    this.flushMs = options.flushMs ?? STORE_EVERY_MS;
    this.ring = new Array(config.memory_entries);
    if (config.path) this.storeOpening = this.openStore(config.path);
  }

  /** The hot path: queue and return. */
  record(connection: string, tool: string, flavor: SqlSupport, text: string, ms: number, rows: number, error: string | null): void {
    this.pending.push({ connection, tool, flavor, text, ms, rows, error, at: Date.now() });
    if (this.pending.length >= MAX_PENDING) this.drain();
    else if (!this.draining) {
      this.draining = true;
      setImmediate(this.drain);
    }
  }

  /**
   * Per-fingerprint summaries for one connection, busiest first is left to the caller.
   * Without `since`: everything the log holds (persisted history included). With it:
   * entries at or after `since`, from the persisted file when there is one, else from
   * the ring; `complete` is false when the ring has already dropped some of them.
   */
  async summarise(connection: string, since?: number): Promise<{ rows: FingerprintSummary[]; complete: boolean }> {
    await this.ready();
    if (since === undefined) {
      const rows = [...(this.connections.get(connection)?.aggregates.values() ?? [])].map(summaryOf);
      return { rows, complete: true };
    }
    const entries = this.store ? this.store.since(connection, since) : this.ringEntries(connection, since);
    return { rows: summariseEntries(entries), complete: this.store !== null || since > this.lastDroppedAt };
  }

  /** Durations of the latest `n` calls of each fingerprint still in the ring, oldest first. */
  recent(connection: string, fingerprints: ReadonlySet<string>, n: number): Map<string, number[]> {
    this.drain();
    const out = new Map<string, number[]>();
    for (let i = 1; i <= this.ring.length; i++) {
      const e = this.ring[(this.head - i + this.ring.length) % this.ring.length];
      if (!e) break;
      if (e.connection !== connection || !fingerprints.has(e.fingerprint)) continue;
      const list = out.get(e.fingerprint) ?? [];
      if (list.length < n) list.unshift(e.ms);
      out.set(e.fingerprint, list);
    }
    return out;
  }

  async totals(connection: string): Promise<LogTotals> {
    await this.ready();
    const c = this.connections.get(connection);
    return { statements: c?.statements ?? 0, errors: c?.errors ?? 0, fingerprints: c?.aggregates.size ?? 0, since: c?.since ?? null };
  }

  /** Where entries are persisted, or null (memory only, or the file could not be opened). */
  get persistedTo(): string | null {
    return this.store?.path ?? null;
  }

  get capacity(): number {
    return this.ring.length;
  }

  async close(): Promise<void> {
    this.drain();
    await this.storeOpening;
    this.save();
    this.store?.close();
    this.store = null;
  }

  private readonly drain = (): void => {
    this.draining = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    for (const p of batch) {
      const entry = this.add({ connection: p.connection, tool: p.tool, fingerprint: this.redact(fingerprint(p.text, p.flavor)), ms: p.ms, rows: p.rows, error: p.error, at: p.at });
      const old = this.ring[this.head];
      if (old) this.lastDroppedAt = Math.max(this.lastDroppedAt, old.at);
      this.ring[this.head] = entry;
      this.head = (this.head + 1) % this.ring.length;
      if (this.config.path) this.unsaved.push(entry);
    }
    if (this.unsaved.length >= STORE_BATCH || this.flushMs === 0) this.save();
    else if (this.unsaved.length > 0 && !this.saveTimer) {
      this.saveTimer = setTimeout(() => { this.saveTimer = null; this.save(); }, this.flushMs);
      this.saveTimer.unref();
    }
  };

  /** Counts the entry in its aggregate; returns it with the aggregate's copy of the fingerprint (one string per fingerprint). */
  private add(e: LogEntry): LogEntry {
    let c = this.connections.get(e.connection);
    if (!c) {
      c = { aggregates: new Map(), statements: 0, errors: 0, since: e.at };
      this.connections.set(e.connection, c);
    }
    c.statements++;
    c.errors += e.error ? 1 : 0;
    c.since = Math.min(c.since, e.at);
    let a = c.aggregates.get(e.fingerprint);
    if (!a) {
      if (c.aggregates.size >= MAX_FINGERPRINTS) forgetOldest(c.aggregates);
      a = { ...newTotals(e), sample: new Float64Array(SAMPLE_SIZE) };
      c.aggregates.set(e.fingerprint, a);
    }
    this.sampleInto(a, e.ms);
    count(a, e);
    e.fingerprint = a.fingerprint;
    return e;
  }

  /** Reservoir sampling (Vitter's algorithm R) with a small xorshift generator: no Math.random state shared. */
  private sampleInto(a: Aggregate, ms: number): void {
    if (a.calls < SAMPLE_SIZE) {
      a.sample[a.calls] = ms;
      return;
    }
    this.random ^= this.random << 13;
    this.random ^= this.random >>> 17;
    this.random ^= this.random << 5;
    const j = (this.random >>> 0) % (a.calls + 1);
    if (j < SAMPLE_SIZE) a.sample[j] = ms;
  }

  private ringEntries(connection: string, since: number): LogEntry[] {
    return this.ring.filter((e): e is LogEntry => e !== undefined && e.connection === connection && e.at >= since);
  }

  private async ready(): Promise<void> {
    this.drain();
    await this.storeOpening;
    // Ours first, so that follow() passes them by; then what other servers sharing the file wrote.
    this.save();
    if (!this.store) return;
    try {
      for (const e of this.store.follow()) this.add(e);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'query log file could not be read; other servers\' entries are left out');
    }
  }

  private async openStore(path: string): Promise<void> {
    try {
      this.store = await openQueryStore(path, this.config.max_entries);
    } catch (err) {
      this.logger.warn({ path, err: (err as Error).message }, 'query log file cannot be opened; keeping the log in memory only');
      this.unsaved = [];
    }
  }

  /** Writes what is waiting; a failed write is logged and dropped (the log in memory is unaffected). */
  private save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.store || this.unsaved.length === 0) return;
    const batch = this.unsaved;
    this.unsaved = [];
    try {
      this.store.append(batch);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, entries: batch.length }, 'query log entries could not be written');
    }
  }
}

/** Only when a new fingerprint arrives at a full map: a scan, rather than reordering the map on every call. */
function forgetOldest(aggregates: Map<string, Aggregate>): void {
  let oldest: Aggregate | undefined;
  for (const a of aggregates.values()) if (!oldest || a.last_seen < oldest.last_seen) oldest = a;
  if (oldest) aggregates.delete(oldest.fingerprint);
}

function p95(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)];
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

function newTotals(e: LogEntry): Totals {
  return { fingerprint: e.fingerprint, calls: 0, errors: 0, total_ms: 0, max_ms: 0, rows: 0, first_seen: e.at, last_seen: e.at, tools: new Set() };
}

function count(t: Totals, e: LogEntry): void {
  t.calls++;
  t.errors += e.error ? 1 : 0;
  t.total_ms += e.ms;
  t.max_ms = Math.max(t.max_ms, e.ms);
  t.rows += e.rows;
  t.first_seen = Math.min(t.first_seen, e.at);
  t.last_seen = Math.max(t.last_seen, e.at);
  t.tools.add(e.tool);
}

function summary(t: Totals, durations: ArrayLike<number>): FingerprintSummary {
  return {
    fingerprint: t.fingerprint, calls: t.calls, errors: t.errors, total_ms: round(t.total_ms), mean_ms: round(t.total_ms / t.calls),
    p95_ms: round(p95(durations)), max_ms: round(t.max_ms), rows: t.rows, first_seen: t.first_seen, last_seen: t.last_seen, tools: [...t.tools].sort(),
  };
}

const summaryOf = (a: Aggregate): FingerprintSummary => summary(a, a.sample.subarray(0, Math.min(a.calls, SAMPLE_SIZE)));

/** Exact summaries of a window of entries (its p95 is over every duration, not a sample). */
export function summariseEntries(entries: LogEntry[]): FingerprintSummary[] {
  const groups = new Map<string, { totals: Totals; durations: number[] }>();
  for (const e of entries) {
    let g = groups.get(e.fingerprint);
    if (!g) {
      g = { totals: newTotals(e), durations: [] };
      groups.set(e.fingerprint, g);
    }
    count(g.totals, e);
    g.durations.push(e.ms);
  }
  return [...groups.values()].map((g) => summary(g.totals, g.durations));
}

export function createQueryLog(config: QueryLogConfig, logger: Logger, options?: QueryLogOptions): QueryLog {
  return new QueryLog(config, logger, options);
}
