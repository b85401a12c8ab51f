/**
 * Issue 14, class 8 on real servers: accounts with sentinel passwords on PostgreSQL and
 * MariaDB (and a SQLite connection in the same server), and statements that make each
 * engine echo a password case-folded, upper-cased, quoted, escaped or percent-encoded in
 * its errors. No spelling may reach a client message, a log line, the query log's
 * fingerprints or a resource error. (Successful results are never rewritten, SPEC §1:
 * every provocation here is an error.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL, freshDatabase, tempDir } from '../support/backends.js';
import { startStdio } from '../support/mcp.js';

const PLAIN = 'S3ntinelPlain42';
const QUOTED = 'Qu0te\'Sent"42';
const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);

/**
 * Independent of the redactor: undo JSON escaping (twice: tool texts are JSON inside
 * JSON-RPC) and %XX, fold case, then look for each password with any quote doubling or
 * backslash before its quotes.
 */
function leaks(haystack: string): string[] {
  let t = haystack;
  for (let i = 0; i < 3; i++) t = t.replace(/\\\\/g, '\\').replace(/\\"/g, '"');
  t = t.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))).toLowerCase();
  const found: string[] = [];
  for (const re of [/s3ntinelplain42/g, /qu0te(?:''|\\'|')sent(?:""|\\"|")42/g]) {
    for (const m of t.matchAll(re)) found.push(t.slice(Math.max(0, m.index - 120), m.index + 40));
  }
  return found;
}

const PG_PROVOKE = [
  `SELECT * FROM ${PLAIN}`, `SELECT '${PLAIN.toUpperCase()}'::int`, `SELECT 'S3ntinel%50lain42'::int`, `SELECT ${PLAIN}()`,
  `SELECT "Qu0te'Sent""42"`, `SELECT 'Qu0te''Sent"42'::int`, `SELECT E'QU0TE\\'SENT"42'::int`, `SELECT * FROM "qu0te'sent""42"`,
  `SELECT 1 ${PLAIN} ${PLAIN}`, `SELECT to_json('Qu0te''Sent"42'::text)::text::int`,
];
const MY_PROVOKE = [
  `SELECT * FROM ${PLAIN}`, `SELECT * FROM ${PLAIN.toLowerCase()}`, `SELEC '${PLAIN.toUpperCase()}'`, `SELEC 'S3ntinel%50lain42'`,
  `SELEC 'Qu0te''Sent"42'`, `SELEC 'Qu0te\\'Sent\\"42'`, `SELEC "QU0TE'SENT""42"`, 'SELEC `Qu0te\'Sent"42`',
  `SELECT * FROM t WHERE x = 'qu0te''sent"42' ORDER BY`,
];
const LITE_PROVOKE = [
  `SELECT * FROM ${PLAIN}`, `SELECT * FROM ${PLAIN.toUpperCase()}`, `SELECT * FROM "Qu0te'Sent""42"`, `SELECT * FROM [qu0te'sent"42]`,
  `SELECT ${PLAIN}()`, `SELECT * FROM "S3ntinel%50lain42"`,
];

describe.skipIf(!has('postgres') || !has('mysql'))('look-alike spellings of passwords are redacted on every backend', () => {
  const dataDir = tempDir('cmx-red-data-');
  const confDir = tempDir('cmx-red-conf-');
  const tag = `${process.pid % 100000}`;
  const drops: Array<() => Promise<void>> = [];
  const seen: string[] = [];
  let stderr = '';
  let calls = 0;
  let redactedErrors = 0;

  beforeAll(async () => {
    const pg = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'redact');
    const my = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'redact');
    drops.push(pg.drop, my.drop);
    const pgDb = pg.url.replace(/^.*\//, '');
    const myDb = my.url.replace(/^.*\//, '');
    const { default: postgres } = await import('postgres');
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    const root = await mysql.createConnection(MYSQL_URL);
    const users = { plain: `cmx_red_p_${tag}`, quoted: `cmx_red_q_${tag}` };
    for (const [kind, user] of Object.entries(users)) {
      const pw = kind === 'plain' ? PLAIN : QUOTED;
      await admin.unsafe(`CREATE ROLE ${user} LOGIN PASSWORD '${pw.replace(/'/g, "''")}'`);
      await admin.unsafe(`GRANT ALL ON DATABASE ${pgDb} TO ${user}`);
      await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ${root.escape(pw)}`);
      await root.query(`GRANT ALL ON \`${myDb}\`.* TO '${user}'@'%'`);
    }
    await admin.end();
    await root.end();
    drops.push(async () => {
      const a = postgres(PG_URL, { max: 1, onnotice: () => undefined });
      for (const u of Object.values(users)) await a.unsafe(`DROP ROLE IF EXISTS ${u}`).catch(() => undefined);
      await a.end();
      const r = await mysql.createConnection(MYSQL_URL);
      for (const u of Object.values(users)) await r.query(`DROP USER IF EXISTS '${u}'@'%'`);
      await r.end();
    });
    const enc = encodeURIComponent;
    const pgBase = pg.url.replace(/^postgres:\/\/[^@]*@/, '');
    writeFileSync(join(confDir, 'config.json'), JSON.stringify({
      connections: {
        pg_plain: { url: `postgres://${users.plain}:${enc(PLAIN)}@${pgBase}` },
        pg_quoted: { url: `postgres://${users.quoted}:${enc(QUOTED)}@${pgBase}` },
        my_plain: { url: `mysql://${users.plain}:${enc(PLAIN)}@127.0.0.1:3306/${myDb}` },
        my_quoted: { url: `mysql://${users.quoted}:${enc(QUOTED)}@127.0.0.1:3306/${myDb}` },
        lite: { url: `sqlite://${join(dataDir, 'lite.db')}` },
      },
      log_level: 'debug',
      query_log: { path: join(dataDir, 'query-log.db') },
    }));
  });

  afterAll(async () => {
    console.error(`[security] redaction: ${calls} calls, ${seen.length} messages and files scanned, ${redactedErrors} errors redacted, leaks ${seen.flatMap(leaks).length}`);
    for (const d of drops.reverse()) await d().catch(() => undefined);
  });

  it('appears in no spelling in messages, logs, fingerprints, resources or files', async () => {
    const s = await startStdio(['--config', join(confDir, 'config.json')], { XDG_DATA_HOME: dataDir });
    s.transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const deliver = s.transport.onmessage!;
    s.transport.onmessage = (m) => { seen.push(JSON.stringify(m)); deliver(m); };
    const call = async (name: string, args: Record<string, unknown>): Promise<void> => {
      calls++;
      const r = await s.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }).catch((err: Error) => ({ isError: true, content: [{ type: 'text', text: err.message }] }));
      const text = JSON.stringify(r.content);
      if (r.isError && text.includes('***')) redactedErrors++;
    };
    try {
      const plan: Array<[string, string[]]> = [['pg_plain', PG_PROVOKE], ['pg_quoted', PG_PROVOKE], ['my_plain', MY_PROVOKE], ['my_quoted', MY_PROVOKE], ['lite', LITE_PROVOKE]];
      for (const [connection, provoke] of plan) {
        for (const query of provoke) {
          await call('execute_query', { connection, query });
          await call('execute_transaction', { connection, queries: [{ query: 'SELECT 1' }, { query }] });
        }
        await call('monitor_query_performance', { connection, query: provoke[0], runs: 1 });
        await call('analyze_slow_queries', { connection, threshold: 0 });
        for (const uri of [`schema://${connection}/S3ntinel%50lain42`, `schema://${connection}/${encodeURIComponent(QUOTED.toUpperCase())}`, `schema://${connection}/${PLAIN.toLowerCase()}`]) {
          seen.push(JSON.stringify(await s.client.readResource({ uri }).catch((e: Error) => e.message)));
        }
      }
      await call('get_connection', { connection: 'pg_plain', url: `postgres://x:${PLAIN.toLowerCase()}@127.0.0.1:1/x?options=${PLAIN}` });
    } finally {
      await s.close();
    }
    seen.push(stderr);
    for (const f of readdirSync(dataDir)) seen.push(readFileSync(join(dataDir, f)).toString('latin1'));
    expect(calls).toBeGreaterThanOrEqual(90);
    // The provocations worked: the engines echoed the passwords, and the errors came back redacted.
    expect(redactedErrors).toBeGreaterThanOrEqual(40);
    expect(stderr).toMatch(/"level":"debug"/);
    expect(seen.flatMap(leaks)).toEqual([]);
  }, 240_000);
});
