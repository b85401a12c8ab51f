/** postgres: the connection part of the backend module (contract/connection.ts). */
import type { ConnectionSupport } from '../contract/connection.js';
import { parsePostgresUrl } from './url.js';

/** Superuser, CREATE on the database or on a schema, or any write privilege on a table. */
const CAN_WRITE = `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
  OR has_database_privilege(current_database(), 'CREATE')
  OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' AND has_schema_privilege(n.oid, 'CREATE'))
  OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS can_write`;

export const connection: ConnectionSupport = {
  schemes: ['postgres://', 'postgresql://'],
  urlForms: ['postgres://user:pass@host:5432/db'],
  parseUrl: parsePostgresUrl,
  canWrite: (dialect, { timeoutMs }) => dialect.withSession(async (s) => (await s.query(CAN_WRITE))[0]?.can_write === true, { timeoutMs, readsOnly: true }),
  writeWarning: {
    writable: 'database account can write',
    fix: 'give it a role or user that can only SELECT (README, "Least privilege")',
  },
};
