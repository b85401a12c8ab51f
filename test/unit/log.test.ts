import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createRedactor, createSecretRedactor } from '../../src/log.js';

/** A sink that parses every JSON line pino writes, so tests compare whole records. */
function sink(): { stream: Writable; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) records.push(JSON.parse(line));
      done();
    },
  });
  return { stream, records };
}

describe('redaction', () => {
  const secrets = ['Sentinel-Pw-93', 'hunter22'];
  const redact = createRedactor(() => secrets);

  it('removes known secrets and password-shaped text', () => {
    expect(redact('failed: postgres://u:Sentinel-Pw-93@h/db')).toBe('failed: postgres://u:***@h/db');
    expect(redact('auth with hunter22 refused')).toBe('auth with *** refused');
    expect(redact('dsn host=h password=abc user=u')).toBe('dsn host=h password=*** user=u');
  });

  it('redacts URL passwords after long words, and stays linear on long runs of letters', () => {
    // The scheme is matched from inside a long word: still redacted.
    expect(redact(`${'w'.repeat(100)}+postgresql://u:p4ss@h/db`)).toBe(`${'w'.repeat(100)}+postgresql://u:***@h/db`);
    expect(redact(`jdbc:mysql://root:p@ss@h:3306/x`)).toBe('jdbc:mysql://root:***@h:3306/x');
    // A 2 MB run of letters (quadratic before: minutes) and many URL starts without a password:
    // redacted up to the bound (64 KiB), the rest cut and said so.
    expect(redact('x'.repeat(2_000_000))).toBe(`${'x'.repeat(65_536)}… (cut: 2000000 characters)`);
    expect(redact('a://a:'.repeat(200_000))).toBe(`${'a://a:'.repeat(200_000).slice(0, 65_536)}… (cut: 1200000 characters)`);
  });

  it('leaves data alone when only known secrets are redacted', () => {
    const known = createSecretRedactor(() => secrets);
    expect(known('password=abc and mysql://a:b@c')).toBe('password=abc and mysql://a:b@c');
    expect(known('x hunter22 y')).toBe('x *** y');
  });

  it('finds a known secret whatever the case of its sigmas (Σ, σ and the final ς are one letter)', () => {
    const known = createSecretRedactor(() => ['ΣΟΦΟΣ-pw']);
    for (const form of ['ΣΟΦΟΣ-pw', 'σοφος-PW', 'σοφοσ-pw', 'ςοφος-pw']) expect(known(`x ${form} y`), form).toBe('x *** y');
    expect(known('x σοφ-pw y')).toBe('x σοφ-pw y');
  });

  it('redacts every string a log record carries', () => {
    const { stream, records } = sink();
    const logger = createLogger('info', redact, stream);
    logger.info({ err: 'login as u:Sentinel-Pw-93 failed', url: 'postgres://u:x@h', nested: { m: 'hunter22' } }, 'connect mysql://r:hunter22@h failed');
    expect(records).toHaveLength(1);
    expect(JSON.stringify(records[0])).not.toMatch(/Sentinel-Pw-93|hunter22/);
    expect(records[0].url).toBe('***');
    expect(records[0].msg).toBe('connect mysql://r:***@h failed');
  });
});
