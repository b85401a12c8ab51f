/**
 * Query parameters of connection URLs: an allow-list per backend, checked when a URL is
 * configured or registered (before any connection), and turned into driver options here.
 *
 * Why an allow-list: postgres.js sends every URL parameter it does not know as a startup
 * parameter (`?standard_conforming_strings=off`, `?options=-c …`, `?client_encoding=SJIS`,
 * `?session_preload_libraries=…`), and those override the settings the read-only
 * classifier depends on. Only TLS and connection-level parameters are accepted; the rest
 * is refused by name (never by value: a value may be a secret).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DbError } from '../errors.js';
import type { Backend } from './dialect.js';

const PG_SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
const PG_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
const MY_SSLMODES = ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;

type Check = (value: string) => string | null;

const oneOf = (values: readonly string[], fold = false): Check => (v) => (values.includes(fold ? v.toUpperCase() : v) ? null : `one of ${values.join(', ')}`);
const seconds: Check = (v) => (/^\d{1,3}$/.test(v) && +v >= 1 && +v <= 600 ? null : 'whole seconds, 1 to 600');
const file: Check = (v) => (isAbsolute(v) ? null : 'an absolute file path');

/** The accepted parameters per backend, with what their values must be (SPEC §2). */
export const URL_PARAMS: Record<Backend, Record<string, Check>> = {
  postgres: {
    sslmode: oneOf(PG_SSLMODES),
    sslrootcert: (v) => (v === 'system' ? null : file(v)),
    sslcert: file,
    sslkey: file,
    sslnegotiation: oneOf(['postgres', 'direct']),
    connect_timeout: seconds,
    target_session_attrs: oneOf(PG_SESSION_ATTRS),
  },
  mysql: {
    'ssl-mode': oneOf(MY_SSLMODES, true),
    'ssl-ca': file,
    'ssl-cert': file,
    'ssl-key': file,
    connect_timeout: seconds,
  },
  sqlite: {},
};

/** A parameter name as it may be shown: it comes from the caller, so it is cut and quoted. */
const shown = (name: string): string => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);

/**
 * The URL's query parameters, checked against the backend's allow-list. Refuses unknown
 * names, repeated names (drivers disagree on which one wins) and bad values.
 */
export function urlParams(backend: Backend, url: string): Map<string, string> {
  const q = url.indexOf('?');
  const out = new Map<string, string>();
  if (q < 0) return out;
  const allowed = URL_PARAMS[backend];
  const accepted = Object.keys(allowed).join(', ') || 'none';
  const search = url.slice(q + 1).replace(/#.*$/s, '');
  for (const [name, value] of new URLSearchParams(search)) {
    const check = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!check) {
      throw new DbError('INVALID_INPUT', `URL parameter ${shown(name)} is not accepted for ${backend} connections (session settings are the server's to pin); accepted: ${accepted}`, { parameter: name.slice(0, 64), accepted: Object.keys(allowed) });
    }
    if (out.has(name)) throw new DbError('INVALID_INPUT', `URL parameter ${shown(name)} is given twice`, { parameter: name });
    const bad = check(value);
    if (bad) throw new DbError('INVALID_INPUT', `URL parameter ${shown(name)} must be ${bad}`, { parameter: name });
    out.set(name, value);
  }
  return out;
}

/**
 * User, database and host end up in NUL-separated protocol fields (PostgreSQL's startup
 * message is `key\0value\0…`): a decoded NUL or control character there would add
 * parameters of its own choosing. Refused in every component.
 */
export function checkUrlComponents(backend: Backend, url: string): void {
  let u: URL;
  try { u = new URL(url); } catch { return; /* the caller reports a malformed URL */ }
  const parts: Array<[string, string]> = [['user name', u.username], ['password', u.password], ['database', u.pathname], ['host', u.hostname]];
  for (const [what, raw] of parts) {
    let text = raw;
    try { text = decodeURIComponent(raw); } catch { throw new DbError('INVALID_INPUT', `the ${backend} URL's ${what} has a malformed percent-encoding`, { component: what }); }
    if (/[\u0000-\u001f\u007f]/.test(text)) throw new DbError('INVALID_INPUT', `the ${backend} URL's ${what} may not contain control characters (NUL included)`, { component: what });
  }
}

/** The URL without its query and fragment: what the driver is given, so parameters cannot reach it. */
export function withoutQuery(url: string): string {
  return url.replace(/[?#].*$/s, '');
}

function readPem(path: string, param: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DbError('INVALID_INPUT', `URL parameter "${param}": cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, { parameter: param });
  }
}

export interface PgUrlOptions {
  url: string;
  ssl: boolean | 'prefer' | 'require' | Record<string, unknown>;
  sslnegotiation: 'direct' | null;
  target_session_attrs: string | null;
  connect_timeout?: number;
}

/**
 * postgres.js options from a PostgreSQL URL, libpq's meanings: `require` encrypts without
 * verifying (unless a root certificate is given: then as `verify-ca`), `verify-ca` checks
 * the chain, `verify-full` the chain and the host name; `sslrootcert=system` means
 * `verify-full` against the system's CAs. No sslmode: no TLS (postgres.js' default).
 */
export function postgresUrlOptions(url: string): PgUrlOptions {
  const p = urlParams('postgres', url);
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
  };
}

export interface MysqlUrlOptions {
  ssl?: Record<string, unknown>;
  connectTimeout?: number;
}

/**
 * mysql2 options from a MySQL URL's parameters, the mysql client's meanings: `ssl-ca`
 * alone means VERIFY_CA. PREFERRED is not offered: mysql2 cannot fall back to plain text.
 */
export function mysqlUrlOptions(url: string): MysqlUrlOptions {
  const p = urlParams('mysql', url);
  const mode = p.get('ssl-mode')?.toUpperCase() ?? (p.has('ssl-ca') ? 'VERIFY_CA' : 'DISABLED');
  const out: MysqlUrlOptions = p.has('connect_timeout') ? { connectTimeout: Number(p.get('connect_timeout')) * 1000 } : {};
  if (mode === 'DISABLED') return out;
  const tls: Record<string, unknown> = { rejectUnauthorized: mode !== 'REQUIRED', verifyIdentity: mode === 'VERIFY_IDENTITY' };
  if (p.has('ssl-ca')) tls.ca = readPem(p.get('ssl-ca') as string, 'ssl-ca');
  if (p.has('ssl-cert')) tls.cert = readPem(p.get('ssl-cert') as string, 'ssl-cert');
  if (p.has('ssl-key')) tls.key = readPem(p.get('ssl-key') as string, 'ssl-key');
  return { ...out, ssl: tls };
}
