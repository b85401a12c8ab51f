/**
 * PostgreSQL URLs: postgres:// and postgresql://, libpq's TLS and connection
 * parameters (the only ones accepted: see ../../connection-url.ts), and the
 * postgres.js options they become.
 */
import {
  absoluteFile, checkedUrlParams, checkNetworkUrl, oneOf, readPem, seconds, withoutQuery, type UrlParamRules,
} from '../../connection-url.js';
import type { ParsedUrl } from '../contract/connection.js';

const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
const SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
/**
 * What stands between us and the server (ours, not libpq's): `transaction` (PgBouncer's
 * pool_mode=transaction and the like: a server connection is ours for one transaction
 * only), `session` (one server connection per client connection), `none` (the default).
 */
export const POOLER_MODES = ['none', 'session', 'transaction'] as const;
export type PoolerMode = (typeof POOLER_MODES)[number];

export const URL_PARAMS: UrlParamRules = {
  sslmode: oneOf(SSLMODES),
  sslrootcert: (v) => (v === 'system' ? null : absoluteFile(v)),
  sslcert: absoluteFile,
  sslkey: absoluteFile,
  sslnegotiation: oneOf(['postgres', 'direct']),
  connect_timeout: seconds,
  target_session_attrs: oneOf(SESSION_ATTRS),
  pooler: oneOf(POOLER_MODES),
};

/** null: not a PostgreSQL URL. Otherwise checked (INVALID_INPUT); PostgreSQL has no file. */
export function parsePostgresUrl(url: string): ParsedUrl | null {
  if (!/^postgres(ql)?:\/\//i.test(url)) return null;
  checkNetworkUrl(url, 'postgres', 'postgres://user:password@host:5432/database', URL_PARAMS);
  return {};
}

/** The URL's query parameters, checked. */
export const postgresUrlParams = (url: string): Map<string, string> => checkedUrlParams(URL_PARAMS, 'postgres', url);

export interface PgUrlOptions {
  url: string;
  ssl: boolean | 'prefer' | 'require' | Record<string, unknown>;
  sslnegotiation: 'direct' | null;
  target_session_attrs: string | null;
  connect_timeout?: number;
  pooler: PoolerMode;
}

/**
 * postgres.js options from a PostgreSQL URL, libpq's meanings: `require` encrypts without
 * verifying (unless a root certificate is given: then as `verify-ca`), `verify-ca` checks
 * the chain, `verify-full` the chain and the host name; `sslrootcert=system` means
 * `verify-full` against the system's CAs. No sslmode: no TLS (postgres.js' default).
 */
export function postgresUrlOptions(url: string): PgUrlOptions {
  const p = postgresUrlParams(url);
  const rootcert = p.get('sslrootcert');
  let mode = p.get('sslmode') ?? (rootcert ? 'verify-full' : 'disable');
  if (mode === 'require' && rootcert && rootcert !== 'system') mode = 'verify-ca';
  const tls: Record<string, unknown> = {};
  if (rootcert && rootcert !== 'system') tls.ca = readPem(rootcert, 'sslrootcert');
  if (p.has('sslcert')) tls.cert = readPem(p.get('sslcert') as string, 'sslcert');
  if (p.has('sslkey')) tls.key = readPem(p.get('sslkey') as string, 'sslkey');
  const ssl: PgUrlOptions['ssl'] = mode === 'disable' ? false
    : mode === 'allow' || mode === 'prefer' || mode === 'require' ? (Object.keys(tls).length ? { ...tls, rejectUnauthorized: false } : mode === 'require' ? 'require' : 'prefer')
    : { ...tls, rejectUnauthorized: true, ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) };
  const tsa = p.get('target_session_attrs');
  return {
    url: withoutQuery(url),
    ssl,
    sslnegotiation: p.get('sslnegotiation') === 'direct' ? 'direct' : null,
    target_session_attrs: tsa && tsa !== 'any' ? tsa : null,
    ...(p.has('connect_timeout') ? { connect_timeout: Number(p.get('connect_timeout')) } : {}),
    pooler: (p.get('pooler') as PoolerMode | undefined) ?? 'none',
  };
}

/**
 * The URL names several hosts (`postgres://u@h1,h2:5432/db`, as postgres.js reads it): a
 * cancel request, which opens a connection of its own, may then reach another host than
 * the statement's (execute.ts CapStop).
 */
export function namesSeveralHosts(url: string): boolean {
  const authority = url.slice(url.indexOf('://') + 3).split(/[?/]/)[0] ?? '';
  return authority.slice(authority.lastIndexOf('@') + 1).includes(',');
}
