/**
 * Logging: pino to file descriptor 2, because stdout is the MCP protocol
 * channel. Every string that leaves the process passes through a redactor that
 * knows the configured passwords.
 */
import pino, { type Logger } from 'pino';
import { replaceRanges, secretForms, secretRanges } from './secret-match.js';

export type Redactor = (text: string) => string;

/**
 * Known secrets only, no patterns: safe to run over query results without mangling data.
 * A secret is found in any case and quoted, escaped or percent-encoded (secret-match.ts),
 * in time linear in the text.
 */
export function createSecretRedactor(secrets: () => readonly string[]): Redactor {
  let key = '';
  let forms: string[] = [];
  return (text: string): string => {
    const list = secrets();
    if (list.length === 0) return text;
    const k = list.join('\u0000');
    if (k !== key) { key = k; forms = [...new Set(list.flatMap(secretForms))]; }
    return replaceRanges(text, secretRanges(text, forms));
  };
}

/**
 * Every quantifier is bounded: unbounded, a long run of letters (a 200 KB query of
 * "xxx…" in an error message) cost a scan to its end from every start: 40 s of one core.
 * The URL pattern starts at `://` (not at a scheme, which every letter could begin): each
 * match attempt ends at the next `/`, so a text is scanned about once.
 * Longer passwords are still redacted when configured (known secrets, above).
 */
const URL_PASSWORD = /(:\/\/[^:/@?#\s]{0,256}):[^/?#\s]{0,1024}@/g;
const PASSWORD_PARAM = /((?:password|passwd|pwd)=)[^&\s'"]+/gi;

/**
 * Longest text redacted whole. Redaction is linear but costs 0.2-0.4 s per MB of some
 * shapes (`%41` runs, letters whose lower case is longer) on the main thread, and an
 * error can echo a 1,000,000-character statement (a syntax error near a long token).
 * A longer text keeps its start: it is redacted over a window REDACT_MARGIN longer than
 * what is kept, and the window's last REDACT_MARGIN characters are dropped, so a secret
 * (or URL password) crossing the cut, found only in part, is dropped with them.
 */
export const MAX_REDACTED_CHARS = 65_536;
const REDACT_MARGIN = 8192;

/** Redacts known secrets and anything shaped like a password in a URL or a key=value. */
export function createRedactor(secrets: () => readonly string[]): Redactor {
  const known = createSecretRedactor(secrets);
  const whole = (text: string): string => known(text.replace(URL_PASSWORD, '$1:***@').replace(PASSWORD_PARAM, '$1***'));
  return (text: string): string => {
    if (text.length <= MAX_REDACTED_CHARS + REDACT_MARGIN) return whole(text);
    const head = whole(text.slice(0, MAX_REDACTED_CHARS + REDACT_MARGIN));
    return `${head.slice(0, head.length - REDACT_MARGIN)}… (cut: ${text.length} characters)`;
  };
}

/** Deep-redacts strings in a JSON-like value (errors, log objects). */
export function redactValue<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, redact);
    return out as T;
  }
  return value;
}

export function createLogger(level: string, redact: Redactor, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'codomyrmex-db',
      level,
      base: { pid: process.pid },
      redact: { paths: ['url', '*.url', 'password', '*.password'], censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? redact(a) : redactValue(a, redact)));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
