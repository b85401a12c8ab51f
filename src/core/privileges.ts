/**
 * Whether the account behind a read-only connection could write. The classifier and
 * the read-only transaction are the server's guards; least privilege is the real
 * barrier, so a read-only connection whose role can write gets a warning (SPEC §3.1).
 * One cheap catalog read per backend, keyed by flavour in this one place.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ConnectionConfig } from '../config.js';
import type { Backend, Dialect, Session } from './dialect.js';

type Probe = (s: Session) => Promise<boolean>;

/** Superuser, CREATE on the database or on a schema, or any write privilege on a table. */
const POSTGRES_SQL = `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
  OR has_database_privilege(current_database(), 'CREATE')
  OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' AND has_schema_privilege(n.oid, 'CREATE'))
  OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS can_write`;

/** Privileges in a MySQL grant that let the account change data, schema or files. */
const MYSQL_WRITE = /\b(ALL|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|FILE|SUPER|INDEX|EXECUTE|TRIGGER|EVENT)\b/i;

const PROBES: Record<Exclude<Backend, 'sqlite'>, Probe> = {
  postgres: async (s) => (await s.query(POSTGRES_SQL))[0]?.can_write === true,
  mysql: async (s) => (await s.query('SHOW GRANTS')).some((row) => {
    // `GRANT <privileges> ON <object> TO ...`; role grants (no ON) carry no privilege themselves.
    const m = /^GRANT\s+(.*?)\s+ON\s/i.exec(String(Object.values(row)[0] ?? ''));
    return m !== null && MYSQL_WRITE.test(m[1]);
  }),
};

/**
 * true / false for a read-only connection (null when it cannot be told: `:memory:`, a
 * probe that failed); null for read-write connections, which are not probed.
 */
export async function roleCanWrite(config: ConnectionConfig, dialect: Dialect): Promise<boolean | null> {
  if (!config.read_only) return null;
  try {
    if (config.backend === 'sqlite') {
      if (!config.file || config.file === ':memory:') return null;
      return await access(config.file, constants.W_OK).then(() => true, () => false);
    }
    const probe = PROBES[config.backend];
    return await dialect.withSession(probe, { timeoutMs: Math.min(config.statement_timeout_ms, 10_000), readsOnly: true });
  } catch {
    return null;
  }
}

export function writeWarning(backend: Backend): string {
  const fix = backend === 'sqlite'
    ? 'make the database file read-only for the server\'s user'
    : 'give it a role or user that can only SELECT (README, "Least privilege")';
  return `this connection is read-only, but its ${backend === 'sqlite' ? 'database file is writable by the server' : 'database account can write'}: the read-only checks are the only barrier; ${fix}`;
}
