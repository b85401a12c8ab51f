/**
 * Fan-out from the one context to every MCP server built on it (the stdio
 * server, or one per HTTP session): resource changes and notices for clients'
 * logs. Managers emit without knowing how many clients listen, or over what.
 */
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';

export type ServerEvent =
  /** What a resource shows changed: its subscribers get notifications/resources/updated. */
  | { type: 'resource-updated'; uri: string }
  /** The set of resources changed (a connection was registered). */
  | { type: 'resource-list-changed' }
  /** A notable event for clients' logs (notifications/message); `data` is already redacted. */
  | { type: 'notice'; level: LoggingLevel; data: Record<string, unknown> };

export type EventListener = (event: ServerEvent) => void;

export interface EventHub {
  /** Listens until the returned function is called (a closing server must call it). */
  on(listener: EventListener): () => void;
  emit(event: ServerEvent): void;
  /** Listeners currently attached: one per live MCP server. */
  size(): number;
}

/** `onError` hears of a listener that threw; the others still get the event. */
export function createEventHub(onError: (err: unknown) => void): EventHub {
  const listeners = new Set<EventListener>();
  return {
    on(listener) {
      // A wrapper per registration, so the same function registered twice is removed once per call.
      const entry: EventListener = (e) => listener(e);
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    emit(event) {
      for (const l of [...listeners]) {
        try {
          l(event);
        } catch (err) {
          onError(err);
        }
      }
    },
    size: () => listeners.size,
  };
}

export interface CallTracker {
  /** Counts `work` as running until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T>;
  running(): number;
  /** Resolves true once nothing runs, or false after `timeoutMs` with calls still running. */
  settled(timeoutMs: number): Promise<boolean>;
}

/** Shutdown aborts calls, then waits here so their cleanup (rollback, removing a partial file) completes. */
export function createCallTracker(): CallTracker {
  const pending = new Set<Promise<unknown>>();
  return {
    track(work) {
      const done = work.then(() => undefined, () => undefined);
      pending.add(done);
      void done.then(() => pending.delete(done));
      return work;
    },
    running: () => pending.size,
    async settled(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
      const all = (async () => {
        while (pending.size) await Promise.all([...pending]);
        return true as const;
      })();
      try {
        return await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
