/**
 * What every backend's URL parsing shares: query parameters checked against the
 * backend's allow-list (before any connection), control characters refused in every
 * component, a network URL's shape checked at start-up. Each backend says which
 * schemes and parameters are its (backends/<name>/url.ts) and turns them into driver
 * options there.
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

/** Checks one parameter's value: null when it is good, else what it must be. */
export type ParamCheck = (value: string) => string | null;

/** The parameters a backend accepts in its URLs, with what their values must be (SPEC §2). */
export type UrlParamRules = Readonly<Record<string, ParamCheck>>;

export const oneOf = (values: readonly string[], fold = false): ParamCheck => (v) => (values.includes(fold ? v.toUpperCase() : v) ? null : `one of ${values.join(', ')}`);
export const seconds: ParamCheck = (v) => (/^\d{1,3}$/.test(v) && +v >= 1 && +v <= 600 ? null : 'whole seconds, 1 to 600');
export const absoluteFile: ParamCheck = (v) => (isAbsolute(v) ? null : 'an absolute file path');

/** A parameter name as it may be shown: it comes from the caller, so it is cut and quoted. */
const shown = (name: string): string => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);

/**
 * The URL's query parameters, checked against a backend's allow-list (`backend` names it
 * in messages). Refuses unknown names, repeated names (drivers disagree on which one
 * wins) and bad values.
 */
export function checkedUrlParams(rules: UrlParamRules, backend: string, url: string): Map<string, string> {
  const q = url.indexOf('?');
  const out = new Map<string, string>();
  if (q < 0) return out;
  const accepted = Object.keys(rules).join(', ') || 'none';
  const search = url.slice(q + 1).replace(/#.*$/s, '');
  for (const [name, value] of new URLSearchParams(search)) {
    const check = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (!check) {
      throw new DbError('INVALID_INPUT', `URL parameter ${shown(name)} is not accepted for ${backend} connections (session settings are the server's to pin); accepted: ${accepted}`, { parameter: name.slice(0, 64), accepted: Object.keys(rules) });
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
export function checkUrlComponents(backend: string, url: string): void {
  let u: URL;
  try { u = new URL(url); } catch { return; /* the caller reports a malformed URL */ }
  const parts: Array<[string, string]> = [['user name', u.username], ['password', u.password], ['database', u.pathname], ['host', u.hostname]];
  for (const [what, raw] of parts) {
    let text = raw;
    try { text = decodeURIComponent(raw); } catch { throw new DbError('INVALID_INPUT', `the ${backend} URL's ${what} has a malformed percent-encoding`, { component: what }); }
    if (/[\u0000-\u001f\u007f]/.test(text)) throw new DbError('INVALID_INPUT', `the ${backend} URL's ${what} may not contain control characters (NUL included)`, { component: what });
  }
}

/**
 * A network URL must parse, so a typo fails at start-up rather than at first use; its
 * components and parameters are checked here too, before any connection. The URL is
 * never echoed: it may hold a password. `example` is the shape shown instead.
 */
export function checkNetworkUrl(url: string, backend: string, example: string, rules: UrlParamRules): void {
  try {
    const u = new URL(url);
    if (!u.hostname) throw new Error('no host');
  } catch {
    throw new DbError('INVALID_INPUT', `malformed ${backend} URL: expected ${example} (percent-encode special characters in the password)`);
  }
  checkUrlComponents(backend, url);
  // Before any connection: a parameter the driver would send as a session setting is refused here.
  checkedUrlParams(rules, backend, url);
}

/** The URL without its query and fragment: what the driver is given, so parameters cannot reach it. */
export function withoutQuery(url: string): string {
  return url.replace(/[?#].*$/s, '');
}

/** A certificate or key file named by a URL parameter, read for the driver. */
export function readPem(path: string, param: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new DbError('INVALID_INPUT', `URL parameter "${param}": cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, { parameter: param });
  }
}
