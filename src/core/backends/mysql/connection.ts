/** mysql: the connection part of the backend module (contract/connection.ts). */
import type { ConnectionSupport } from '../contract/connection.js';
import { parseMysqlUrl } from './url.js';

/** Privileges in a MySQL grant that let the account change data, schema or files. */
const WRITE_PRIVILEGES = /\b(ALL|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|FILE|SUPER|INDEX|EXECUTE|TRIGGER|EVENT)\b/i;

export const connection: ConnectionSupport = {
  schemes: ['mysql://', 'mariadb://'],
  urlForms: ['mysql://user:pass@host:3306/db', 'mariadb://...'],
  parseUrl: parseMysqlUrl,
  canWrite: (dialect, { timeoutMs }) => dialect.withSession(async (s) => (await s.query('SHOW GRANTS')).some((row) => {
    // `GRANT <privileges> ON <object> TO ...`; role grants (no ON) carry no privilege themselves.
    const m = /^GRANT\s+(.*?)\s+ON\s/i.exec(String(Object.values(row)[0] ?? ''));
    return m !== null && WRITE_PRIVILEGES.test(m[1]);
  }), { timeoutMs, readsOnly: true }),
  writeWarning: {
    writable: 'database account can write',
    fix: 'give it a role or user that can only SELECT (README, "Least privilege")',
  },
};
