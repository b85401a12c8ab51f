/**
 * The one context main() builds and passes down: no module-level singletons, so
 * tests build real pieces and hand them in.
 */
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { DestinationStream, Logger } from 'pino';
import { urlSecrets, type Config } from './config.js';
import { createQueryLog, type QueryLog } from './core/query-log/index.js';
import { ConnectionRegistry } from './core/registry.js';
import { createOffloader, type Offloader } from './core/offload/index.js';
import { createCallTracker, createEventHub, type CallTracker, type EventHub } from './events.js';
import { createLogger, createRedactor, redactValue, type Redactor } from './log.js';

export interface ServerContext {
  config: Config;
  registry: ConnectionRegistry;
  logger: Logger;
  /** Known secrets and password-shaped text: for errors and logs. */
  redact: Redactor;
  /** Runs fn after every earlier call with the same key has finished (in this process). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Every agent statement, fingerprinted (core/query-log/); close() it on shutdown. */
  queryLog: QueryLog;
  /** Resource changes and notices, fanned out to every MCP server built on this context. */
  events: EventHub;
  /**
   * Tells MCP clients of a notable event (notifications/message, logger `codomyrmex-db`):
   * `{event, ...data}` after the redactor. Callers log to pino themselves.
   */
  notify(level: LoggingLevel, event: string, data?: Record<string, unknown>): void;
  /** Tool calls still running, so shutdown can wait for their cleanup. */
  calls: CallTracker;
  /** Where long agent texts are lexed (placeholders), in a worker with a deadline (core/offload). */
  offload: Offloader;
}

export interface ContextOptions {
  /** A ready logger (tests pass a silent one); otherwise one is built on fd 2, or on logDestination. */
  logger?: Logger;
  /** Where log lines go instead of stderr (tests collect them to check redaction). */
  logDestination?: DestinationStream;
  cwd?: string;
}

export function createContext(config: Config, options: ContextOptions = {}): ServerContext {
  const secrets: string[] = [];
  const addSecrets = (more: string[]): void => {
    for (const s of more) if (s.length >= 4 && !secrets.includes(s)) secrets.push(s);
    secrets.sort((a, b) => b.length - a.length);
  };
  for (const c of config.connections.values()) addSecrets(urlSecrets(c.url));
  if (config.http.token) addSecrets([config.http.token]);
  const list = (): readonly string[] => secrets;
  const redact = createRedactor(list);
  const logger = options.logger ?? createLogger(config.log_level, redact, options.logDestination);
  const events = createEventHub((err) => logger.warn({ err: (err as Error).message }, 'event listener failed'));
  const notify = (level: LoggingLevel, event: string, data: Record<string, unknown> = {}): void => {
    events.emit({ type: 'notice', level, data: redactValue({ event, ...data }, redact) });
  };
  const registry = new ConnectionRegistry(config.connections.values(), {
    logger,
    notify,
    addSecrets,
    dataDir: config.data_dir,
    cwd: options.cwd ?? process.cwd(),
    readOnlyDefault: config.read_only,
  });
  const tails = new Map<string, Promise<unknown>>();
  const exclusive = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const next = (tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => { if (tails.get(key) === tail) tails.delete(key); });
    return next;
  };
  return { config, registry, logger, redact, exclusive, queryLog: createQueryLog(config.query_log, logger, { redact, flushMs: config.transport === 'http' ? 0 : undefined }), events, notify, calls: createCallTracker(), offload: createOffloader() };
}
