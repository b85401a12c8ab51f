/**
 * Named connections: the only owner of pools. Opens lazily on first use, reuses,
 * closes on request (the next use reopens). Every manager goes through here.
 */
import type { Logger } from 'pino';
import { buildConnection, safeUrl, urlSecrets, type ConnectionConfig } from '../config.js';
import { DbError } from '../errors.js';
import type { Dialect, DialectConfig, ServerInfo } from './dialect.js';
import { backendModule, type BackendModule } from './backends/lookup.js';
import { roleCanWrite, writeWarning } from './privileges.js';

export type ConnectionState = 'closed' | 'open' | 'failed';

export interface OpenConnection {
  config: ConnectionConfig;
  /** What the server knows of this connection's backend: ask it, never compare the name. */
  module: BackendModule;
  dialect: Dialect;
  info: ServerInfo;
  /** Read-only connections: whether the account could write (null: not known; read-write: not probed). */
  roleCanWrite: boolean | null;
  /** Set when a read-only connection's account can write. */
  warning?: string;
}

interface Entry {
  config: ConnectionConfig;
  /** The role-can-write warning was logged (once per connection, not per reopen). */
  warned?: boolean;
  opening?: Promise<OpenConnection>;
  open?: OpenConnection;
  lastError?: string;
}

export interface RegistryOptions {
  logger: Logger;
  /** Tells clients of opened, failed and registered connections (MCP log notifications). */
  notify?: (level: 'info' | 'error', event: string, data: Record<string, unknown>) => void;
  /** Called with the secrets of a connection added at runtime, so redaction learns them. */
  addSecrets: (secrets: string[]) => void;
  dataDir: string;
  cwd: string;
  /** Whether connections registered at runtime are read-only (the server-wide --read-only). */
  readOnlyDefault: boolean;
}

export function createDialect(config: ConnectionConfig, logger: Logger): Dialect {
  const cfg: DialectConfig = {
    backend: config.backend,
    name: config.name,
    url: config.url,
    readOnly: config.read_only,
    ...(config.read_only_role ? { readOnlyRole: config.read_only_role } : {}),
    poolSize: config.pool_size,
    statementTimeoutMs: config.statement_timeout_ms,
    acquireTimeoutMs: config.acquire_timeout_ms,
    logger: logger.child({ connection: config.name }),
    createDirectory: config.create_directory,
    ...(config.file !== undefined ? { file: config.file } : {}),
  };
  return backendModule(config.backend).createDialect(cfg);
}

export class ConnectionRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(connections: Iterable<ConnectionConfig>, private readonly opts: RegistryOptions) {
    for (const c of connections) this.entries.set(c.name, { config: c });
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** `default` when it exists, else the only connection; otherwise the caller must name one. */
  resolveName(name?: string): string {
    if (name !== undefined) {
      if (this.entries.has(name)) return name;
      throw new DbError('CONNECTION_NOT_FOUND', `no connection named "${name}"; configured: ${this.names().join(', ') || '(none)'}`, { connection: name, available: this.names() });
    }
    if (this.entries.has('default')) return 'default';
    if (this.entries.size === 1) return this.names()[0];
    throw new DbError('CONNECTION_NOT_FOUND', `several connections are configured and none is named "default"; pass connection: one of ${this.names().join(', ')}`, { available: this.names() });
  }

  config(name?: string): ConnectionConfig {
    return (this.entries.get(this.resolveName(name)) as Entry).config;
  }

  state(name: string): { state: ConnectionState; last_error?: string } {
    const e = this.entries.get(name);
    if (!e) return { state: 'closed' };
    if (e.open) return { state: 'open' };
    return e.lastError ? { state: 'failed', last_error: e.lastError } : { state: 'closed' };
  }

  /** Opens the connection if needed. Concurrent callers share one attempt. */
  async get(name?: string): Promise<OpenConnection> {
    const entry = this.entries.get(this.resolveName(name)) as Entry;
    if (entry.open) return entry.open;
    entry.opening ??= this.openEntry(entry).finally(() => { entry.opening = undefined; });
    return entry.opening;
  }

  private async openEntry(entry: Entry): Promise<OpenConnection> {
    const dialect = createDialect(entry.config, this.opts.logger);
    try {
      const info = await dialect.connect();
      const module = backendModule(entry.config.backend);
      const canWrite = await roleCanWrite(entry.config, module, dialect);
      const warning = canWrite === true ? writeWarning(module) : undefined;
      entry.open = { config: entry.config, module, dialect, info, roleCanWrite: canWrite, ...(warning ? { warning } : {}) };
      entry.lastError = undefined;
      this.opts.logger.info({ connection: entry.config.name, backend: dialect.backend, server_version: info.server_version }, 'connection opened');
      this.opts.notify?.('info', 'connection_opened', { connection: entry.config.name, backend: dialect.backend, server_version: info.server_version });
      if (warning && !entry.warned) {
        entry.warned = true;
        this.opts.logger.warn({ connection: entry.config.name, user: info.user }, warning);
      }
      return entry.open;
    } catch (err) {
      await dialect.close().catch(() => undefined);
      const e = err instanceof DbError ? err : new DbError('CONNECTION_FAILED', (err as Error).message ?? String(err));
      const failed = e.code === 'AUTH_FAILED' ? e : new DbError(e.code === 'INTERNAL' ? 'CONNECTION_FAILED' : e.code, e.message, e.details);
      entry.lastError = failed.message;
      this.opts.logger.warn({ connection: entry.config.name, code: failed.code, err: failed.message }, 'connection failed');
      this.opts.notify?.('error', 'connection_failed', { connection: entry.config.name, code: failed.code, message: failed.message });
      throw failed.withDetails({ connection: entry.config.name });
    }
  }

  /** Registers a connection at runtime (only when the server allows it). */
  add(name: string, url: string): ConnectionConfig {
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.config.url === url) return existing.config;
      throw new DbError('DUPLICATE_OBJECT', `a connection named "${name}" already exists with another URL; close it or pick another name`, { connection: name });
    }
    this.opts.addSecrets(urlSecrets(url));
    const config = buildConnection(name, { url }, this.opts.cwd, this.opts.readOnlyDefault, this.opts.dataDir);
    this.entries.set(name, { config });
    this.opts.logger.info({ connection: name, url: safeUrl(url) }, 'connection registered at runtime');
    return config;
  }

  /** Closes the pool; returns whether it was open. The next use reopens it. */
  async close(name?: string): Promise<boolean> {
    const entry = this.entries.get(this.resolveName(name)) as Entry;
    if (entry.opening) await entry.opening.catch(() => undefined);
    const open = entry.open;
    entry.open = undefined;
    if (!open) return false;
    await open.dialect.close();
    this.opts.logger.info({ connection: entry.config.name }, 'connection closed');
    return true;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.names().map((n) => this.close(n).catch((err) => {
      this.opts.logger.warn({ connection: n, err: (err as Error).message }, 'close failed');
    })));
  }
}
