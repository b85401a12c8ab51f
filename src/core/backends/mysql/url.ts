/**
 * MySQL and MariaDB URLs: mysql:// and mariadb://, the mysql client's TLS and
 * connection parameters (the only ones accepted: see ../../connection-url.ts), and
 * the mysql2 options they become.
 */
import { absoluteFile, checkedUrlParams, checkNetworkUrl, oneOf, readPem, seconds, type UrlParamRules } from '../../connection-url.js';
import type { ParsedUrl } from '../contract/connection.js';

const SSLMODES = ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;

export const URL_PARAMS: UrlParamRules = {
  'ssl-mode': oneOf(SSLMODES, true),
  'ssl-ca': absoluteFile,
  'ssl-cert': absoluteFile,
  'ssl-key': absoluteFile,
  connect_timeout: seconds,
  // Galera: every read waits until this node has applied what the cluster committed before it (wsrep_sync_wait=1).
  causal_reads: oneOf(['true', 'false']),
};

/** null: not a MySQL URL. Otherwise checked (INVALID_INPUT); MySQL has no file. */
export function parseMysqlUrl(url: string): ParsedUrl | null {
  if (!/^(mysql|mariadb):\/\//i.test(url)) return null;
  checkNetworkUrl(url, 'mysql', 'mysql://user:password@host:3306/database', URL_PARAMS);
  return {};
}

/** The URL's query parameters, checked. */
export const mysqlUrlParams = (url: string): Map<string, string> => checkedUrlParams(URL_PARAMS, 'mysql', url);

/** `causal_reads=true`: the sessions of this connection set wsrep_sync_wait (pool.ts); not a mysql2 option. */
export const mysqlCausalReads = (url: string): boolean => mysqlUrlParams(url).get('causal_reads') === 'true';

export interface MysqlUrlOptions {
  ssl?: Record<string, unknown>;
  connectTimeout?: number;
}

/**
 * mysql2 options from a MySQL URL's parameters, the mysql client's meanings: `ssl-ca`
 * alone means VERIFY_CA. PREFERRED is not offered: mysql2 cannot fall back to plain text.
 */
export function mysqlUrlOptions(url: string): MysqlUrlOptions {
  const p = mysqlUrlParams(url);
  const mode = p.get('ssl-mode')?.toUpperCase() ?? (p.has('ssl-ca') ? 'VERIFY_CA' : 'DISABLED');
  const out: MysqlUrlOptions = p.has('connect_timeout') ? { connectTimeout: Number(p.get('connect_timeout')) * 1000 } : {};
  if (mode === 'DISABLED') return out;
  const tls: Record<string, unknown> = { rejectUnauthorized: mode !== 'REQUIRED', verifyIdentity: mode === 'VERIFY_IDENTITY' };
  if (p.has('ssl-ca')) tls.ca = readPem(p.get('ssl-ca') as string, 'ssl-ca');
  if (p.has('ssl-cert')) tls.cert = readPem(p.get('ssl-cert') as string, 'ssl-cert');
  if (p.has('ssl-key')) tls.key = readPem(p.get('ssl-key') as string, 'ssl-key');
  return { ...out, ssl: tls };
}
