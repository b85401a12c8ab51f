/**
 * Whether the account behind a read-only connection could write. The classifier and
 * the read-only transaction are the server's guards; least privilege is the real
 * barrier, so a read-only connection whose role can write gets a warning (SPEC §3.1).
 * How to tell is the backend's (one cheap catalog read, or the file's mode).
 */
import type { ConnectionConfig } from '../config.js';
import type { BackendModule } from './backends/types.js';
import type { Dialect } from './dialect.js';

/** The probe gets the statement timeout, but never more than this: it only delays opening. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * true / false for a read-only connection (null when it cannot be told: `:memory:`, a
 * probe that failed); null for read-write connections, which are not probed.
 */
export async function roleCanWrite(config: ConnectionConfig, module: BackendModule, dialect: Dialect): Promise<boolean | null> {
  if (!config.read_only) return null;
  try {
    return await module.connection.canWrite(dialect, { file: config.file, timeoutMs: Math.min(config.statement_timeout_ms, PROBE_TIMEOUT_MS) });
  } catch {
    return null;
  }
}

export function writeWarning(module: BackendModule): string {
  const { writable, fix } = module.connection.writeWarning;
  return `this connection is read-only, but its ${writable}: the read-only checks are the only barrier; ${fix}`;
}
