/**
 * Fan-out from the one context to every MCP server built on it (the stdio
 * server, or one per HTTP session): resource changes and notices for clients'
 * logs. Managers emit without knowing how many clients listen, or over what.
 */
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';

export type ServerEvent =
  /** What a resource shows changed: its subscribers get notifications/resources/updated; `prefix`: every subscribed URI starting with `uri`. */
  | { type: 'resource-updated'; uri: string; prefix?: boolean }
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
  /**
   * Runs `fn` with a signal that aborts with `signal` (the client's cancel) or at
   * shutdown, and counts it as running until it settles.
   */
  run<T>(signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  running(): number;
  /** Aborts every running call, and every call started from now on (shutdown). */
  abortAll(): void;
  /** True once abortAll was called. */
  stopping(): boolean;
  /** Resolves true once nothing runs, or false after `timeoutMs` with calls still running. */
  settled(timeoutMs: number): Promise<boolean>;
}

/**
 * Shutdown aborts calls while their transports are still open, so each client gets
 * its CANCELLED result, then waits here for their cleanup (rollback, removing a partial file).
 */
export function createCallTracker(): CallTracker {
  const pending = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  /** The signals of running calls, aborted at shutdown. */
  const running = new Set<AbortController>();
  return {
    run(signal, fn) {
      // Not AbortSignal.any: on Node 20 each one registers with the long-lived shutdown
      // signal through weak references and a finalizer, a cost paid again in every
      // garbage collection; one controller and one listener per call do the same.
      const call = new AbortController();
      const onAbort = (): void => call.abort(signal.reason);
      if (shutdown.signal.aborted) call.abort(shutdown.signal.reason);
      else if (signal.aborted) call.abort(signal.reason);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        running.add(call);
      }
      const work = fn(call.signal);
      const done = work.then(() => undefined, () => undefined);
      pending.add(done);
      void done.then(() => {
        pending.delete(done);
        running.delete(call);
        signal.removeEventListener('abort', onAbort);
      });
      return work;
    },
    running: () => pending.size,
    abortAll: () => {
      shutdown.abort();
      for (const call of running) call.abort(shutdown.signal.reason);
    },
    stopping: () => shutdown.signal.aborted,
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
