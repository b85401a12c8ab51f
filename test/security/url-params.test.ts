/**
 * Issue 14, class 3 (URL side): a connection URL cannot change the session settings the
 * server pins. Only documented parameters (TLS and the like) are accepted; everything
 * else is refused by name, with INVALID_INPUT, before any connection is made. The
 * server's environment (PGOPTIONS, PGSSL, PGAPPNAME …) cannot change them either.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/config.js';
import { mysqlCausalReads, mysqlUrlOptions } from '../../src/core/backends/mysql/url.js';
import { postgresUrlOptions } from '../../src/core/backends/postgres/url.js';
import { DbError } from '../../src/errors.js';
import { BACKENDS, MYSQL_URL, PG_URL, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startStdio, rowsOf } from '../support/mcp.js';

const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);
/** Rows of an execute_query result as objects (one place to change when the result shape does). */

const SECRET_VALUE = 'Val-Sentinel-77';
let refusals = 0;
let accepted = 0;

function refusal(url: string): DbError {
  try {
    parseConnectionUrl(url, '/tmp');
  } catch (err) {
    refusals++;
    return err as DbError;
  }
  throw new Error(`accepted: ${url}`);
}

// Settings postgres.js would send as startup parameters, in several spellings.
const PG_HOSTILE = [
  'standard_conforming_strings=off', 'Standard_Conforming_Strings=off', 'STANDARD_CONFORMING_STRINGS=off',
  '%73tandard_conforming_strings=off', 'session_preload_libraries=auto_explain', 'local_preload_libraries=x',
  `options=-c%20standard_conforming_strings%3Doff`, 'options=--default_transaction_read_only%3Doff',
  'search_path=evil', 'role=pg_write_server_files', 'default_transaction_read_only=off',
  'client_encoding=SJIS', 'client_encoding=GBK', 'statement_timeout=0', 'TimeZone=Mars', 'DateStyle=SQL',
  'backslash_quote=on', 'escape_string_warning=off', 'lo_compat_privileges=on', 'session_authorization=postgres',
  'application_name=x', 'replication=database', 'debug=1', 'max_pipeline=1', 'fetch_types=false', 'prepare=true',
  'ssl=true', 'sslpassword=x', 'host=/tmp', 'user=postgres', 'database=postgres', 'password=x', 'max=1000',
  'idle_timeout=0', 'backoff=0', 'publications=x', 'keep_alive=1', 'transform=x', 'connection=x',
  'sslmode=require&x=1', 'connect_timeout=5&search_path=evil', 'sslmode=require&sslmode=disable',
];
const MY_HOSTILE = [
  'multipleStatements=true', 'multiplestatements=1', 'flags=%2BMULTI_STATEMENTS', 'flags=-FOUND_ROWS', 'localInfile=true',
  'infileStreamFactory=x', 'typeCast=false', 'sql_mode=ANSI_QUOTES', 'sql_mode=NO_BACKSLASH_ESCAPES', 'charset=sjis',
  'charset=gbk', 'timezone=local', 'dateStrings=false', 'supportBigNumbers=false', 'connectAttributes=x', 'init_command=x',
  'ssl=%7B%7D', 'debug=true', 'trace=true', 'stringifyObjects=true', 'queryFormat=x', 'isServer=true', 'authPlugins=x',
  'ssl-mode=PREFERRED', 'ssl-mode=bogus', 'connect_timeout=0', 'connect_timeout=9999', 'ssl-ca=relative.pem', 'socketPath=/tmp/x',
  'causal_reads=yes', 'causal_reads=1', 'wsrep_sync_wait=7', 'causal_reads=true&causal_reads=false',
];
const SQLITE_HOSTILE = ['mode=rwc', 'mode=ro', 'vfs=unix-none', 'immutable=1', 'nolock=1', 'cache=shared', 'modeof=/etc/passwd', 'psow=0'];

describe('URL parameters are an allow-list (SPEC §2)', () => {
  it('refuses PostgreSQL session settings by name, never echoing the value', () => {
    for (const q of PG_HOSTILE) {
      const e = refusal(`postgres://u:pw@127.0.0.1:5432/db?${q}`);
      expect(e.code, q).toBe('INVALID_INPUT');
      expect(e.message, q).toMatch(/URL parameter "[^"]+" (is not accepted|is given twice)/);
      expect(typeof e.details.parameter, q).toBe('string');
    }
    const e = refusal(`postgresql://u:pw@127.0.0.1/db?options=${SECRET_VALUE}`);
    expect(e.message).toContain('"options"');
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(SECRET_VALUE);
  });

  it('refuses mysql2 options and session variables on mysql:// and mariadb://', () => {
    for (const scheme of ['mysql', 'mariadb']) {
      for (const q of MY_HOSTILE) {
        const e = refusal(`${scheme}://root:pw@127.0.0.1:3306/db?${q}`);
        expect(e.code, q).toBe('INVALID_INPUT');
        expect(e.message, q).toMatch(/URL parameter "[^"]+"/);
      }
    }
  });

  it('refuses SQLite URI parameters (better-sqlite3 has no URI filenames: they would become part of the name)', () => {
    for (const q of SQLITE_HOSTILE) {
      for (const base of ['sqlite:///tmp/x.db', 'sqlite:rel.db', 'sqlite::memory:']) {
        expect(refusal(`${base}?${q}`).code, q).toBe('INVALID_INPUT');
      }
    }
  });

  it('refuses control characters (NUL) in user, database and host: they would add startup parameters', () => {
    for (const url of [
      'postgres://x%00options%00-c%20standard_conforming_strings%3Doff@127.0.0.1/db',
      'postgres://u@127.0.0.1/db%00options%00-csearch_path%3Devil',
      'postgres://u:p%00w@127.0.0.1/db', 'mysql://root%00x@127.0.0.1/db', 'mysql://root@127.0.0.1/db%0Ax',
      'postgres://u@127.0.0.1/db%ZZ',
    ]) expect(refusal(url).code, url).toBe('INVALID_INPUT');
  });

  it('accepts the documented parameters with valid values', () => {
    const ok = [
      'postgres://u@h/db?sslmode=disable', 'postgres://u@h/db?sslmode=verify-full&sslrootcert=system',
      'postgres://u@h/db?sslmode=require&connect_timeout=5&target_session_attrs=read-write&sslnegotiation=postgres',
      'postgres://u@h/db?pooler=transaction', 'postgres://u@h/db?pooler=session&sslmode=disable',
      'postgres://u@h/db?sslrootcert=/etc/ssl/ca.pem&sslcert=/c.pem&sslkey=/k.pem',
      'mysql://u@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ssl/ca.pem', 'mariadb://u@h/db?ssl-mode=required&connect_timeout=3',
      'mysql://u@h/db?ssl-mode=DISABLED', 'mysql://u@h/db?causal_reads=true', 'mariadb://u@h/db?causal_reads=false&ssl-mode=REQUIRED',
    ];
    for (const url of ok) { expect(() => parseConnectionUrl(url, '/tmp'), url).not.toThrow(); accepted++; }
  });
});

describe('accepted parameters become driver options, with libpq and mysql client meanings', () => {
  const dir = tempDir('cmx-url-tls-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

  it('PostgreSQL: the driver gets no query, TLS as libpq reads it', () => {
    const base = 'postgres://u:p@h:5432/db';
    expect(postgresUrlOptions(`${base}?sslmode=disable&connect_timeout=7`)).toMatchObject({ url: base, ssl: false, connect_timeout: 7 });
    expect(postgresUrlOptions(base)).toMatchObject({ url: base, ssl: false, target_session_attrs: null, sslnegotiation: null });
    expect(postgresUrlOptions(`${base}?sslmode=require`).ssl).toBe('require');
    expect(postgresUrlOptions(`${base}?sslmode=prefer`).ssl).toBe('prefer');
    expect(postgresUrlOptions(`${base}?sslmode=verify-full&sslrootcert=system`).ssl).toEqual({ rejectUnauthorized: true });
    expect(postgresUrlOptions(`${base}?sslrootcert=system`).ssl).toEqual({ rejectUnauthorized: true });
    const verifyCa = postgresUrlOptions(`${base}?sslmode=require&sslrootcert=${ca}`).ssl as Record<string, unknown>;
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(typeof verifyCa.checkServerIdentity).toBe('function');
    expect(postgresUrlOptions(`${base}?target_session_attrs=any`).target_session_attrs).toBeNull();
    expect(postgresUrlOptions(`${base}?target_session_attrs=read-write&sslnegotiation=direct`)).toMatchObject({ target_session_attrs: 'read-write', sslnegotiation: 'direct' });
    expect(() => postgresUrlOptions(`${base}?sslrootcert=${join(dir, 'missing.pem')}`)).toThrow(/sslrootcert/);
    // `pooler` is ours: never a startup parameter (the driver gets no query), none by default.
    expect(postgresUrlOptions(base).pooler).toBe('none');
    expect(postgresUrlOptions(`${base}?pooler=transaction`)).toMatchObject({ url: base, pooler: 'transaction' });
    expect(() => postgresUrlOptions(`${base}?pooler=statement`)).toThrow(/pooler/);
  });

  it('MySQL: TLS as the mysql client reads it; nothing else becomes an option', () => {
    expect(mysqlUrlOptions('mysql://u@h/db')).toEqual({});
    expect(mysqlUrlOptions('mysql://u@h/db?ssl-mode=required&connect_timeout=4')).toEqual({ connectTimeout: 4000, ssl: { rejectUnauthorized: false, verifyIdentity: false } });
    expect(mysqlUrlOptions(`mysql://u@h/db?ssl-ca=${ca}`).ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: false, ca: expect.any(String) });
    expect(mysqlUrlOptions('mysql://u@h/db?ssl-mode=VERIFY_IDENTITY').ssl).toEqual({ rejectUnauthorized: true, verifyIdentity: true });
    // A session setting of ours (pool.ts), never a mysql2 option.
    expect(mysqlUrlOptions('mysql://u@h/db?causal_reads=true')).toEqual({});
    expect([mysqlCausalReads('mysql://u@h/db?causal_reads=true'), mysqlCausalReads('mysql://u@h/db?causal_reads=false'), mysqlCausalReads('mysql://u@h/db')]).toEqual([true, false, false]);
  });
});

describe.skipIf(!has('postgres') || !has('mysql'))('runtime URLs and the server environment (real servers)', () => {
  let server: Awaited<ReturnType<typeof startStdio>> | undefined;
  afterAll(async () => {
    await server?.close();
    console.error(`[security] url-params: refused ${refusals} URLs by name, accepted ${accepted} documented forms`);
  });

  it('get_connection refuses hostile URL parameters before connecting; pinned settings survive PG* variables', async () => {
    server = await startStdio(['--allow-runtime-connections', '--log-level', 'silent'], {
      PGOPTIONS: '-c standard_conforming_strings=off -c search_path=evil', PGAPPNAME: 'evil-app', PGSSL: 'require',
      PGSSLMODE: 'require', PGDEBUG: '1', PGFETCH_TYPES: 'false', PGMAX_PIPELINE: '0',
    });
    const c = server.client;
    // Port 1 refuses connections: INVALID_INPUT (not CONNECTION_FAILED) proves nothing was dialled.
    for (const [i, url] of [
      'postgres://postgres@127.0.0.1:1/test?standard_conforming_strings=off',
      'postgres://postgres@127.0.0.1:1/test?session_preload_libraries=auto_explain',
      'postgres://postgres@127.0.0.1:1/test?options=-c%20standard_conforming_strings%3Doff',
      'mysql://root@127.0.0.1:1/test?multipleStatements=true', 'mariadb://root@127.0.0.1:1/test?localInfile=1',
      'sqlite:///tmp/cmx-url-params.db?mode=rwc',
    ].entries()) {
      const r = await callTool(c, 'get_connection', { connection: `bad${i}`, url });
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.error.code, url).toBe('INVALID_INPUT');
      refusals++;
    }
    const listed = await callTool(c, 'list_connections', {});
    expect(JSON.stringify(listed.ok && listed.data)).not.toMatch(/"bad\d"/);

    // Documented parameters reach the driver: sslmode=require fails on this TLS-less server, disable works.
    const tls = await callTool(c, 'get_connection', { connection: 'pg_tls', url: `${PG_URL}?sslmode=require` });
    expect(['CONNECTION_FAILED', 'CONNECTION_LOST']).toContain(tls.ok ? 'ok' : tls.error.code);
    const params = await callTool(c, 'get_connection', { connection: 'pg_params', url: `${PG_URL}?sslmode=disable&connect_timeout=5` });
    expect(params.ok ? 'ok' : params.error.message).toBe('ok');
    // No sslmode in the URL: PGSSL=require in the environment must not turn TLS on (postgres.js reads it).
    const pg = await callTool(c, 'get_connection', { connection: 'pg', url: PG_URL });
    expect(pg.ok ? 'ok' : pg.error.message).toBe('ok');
    const q = await callTool(c, 'execute_query', { connection: 'pg', query: "SELECT current_setting('standard_conforming_strings') AS scs, current_setting('application_name') AS app, current_setting('search_path') AS sp, pg_is_in_recovery() AS standby" });
    expect(q.ok ? rowsOf(q.data)[0] : q.error).toEqual({ scs: 'on', app: 'codomyrmex-db', sp: '"$user", public', standby: false });
    const my = await callTool(c, 'get_connection', { connection: 'my', url: `${MYSQL_URL}?ssl-mode=DISABLED` });
    expect(my.ok ? 'ok' : my.error.message).toBe('ok');
    const multi = await callTool(c, 'execute_query', { connection: 'my', query: 'SELECT 1; SELECT 2' });
    expect(multi.ok).toBe(false);
    const myTls = await callTool(c, 'get_connection', { connection: 'my_tls', url: `${MYSQL_URL}?ssl-mode=REQUIRED` });
    expect(['CONNECTION_FAILED', 'CONNECTION_LOST']).toContain(myTls.ok ? 'ok' : myTls.error.code);
  }, 60_000);
});

describe.skipIf(!has('postgres') || !has('mysql'))('native backup tools take the URL, not the server environment', () => {
  it('PGOPTIONS and a [mysqldump] option file in the server environment change nothing', async () => {
    const pg = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'urlenv');
    const my = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'urlenv');
    const home = tempDir('cmx-url-home-');
    const conf = tempDir('cmx-url-conf-');
    // Read by mariadb-dump/mysqldump without --no-defaults: a dump without rows.
    writeFileSync(join(home, '.my.cnf'), '[client]\nport=1\n[mysqldump]\nno-data\n[mariadb-dump]\nno-data\n');
    writeFileSync(join(conf, 'config.json'), JSON.stringify({ connections: { pg: { url: pg.url }, my: { url: my.url } }, backup_dir: join(conf, 'backups'), log_level: 'silent' }));
    const s = await startStdio(['--config', join(conf, 'config.json')], {
      HOME: home, PGOPTIONS: '-c default_transaction_read_only=on -c search_path=nowhere', PGSSLMODE: 'require', PGSERVICE: 'no_such_service',
    });
    try {
      for (const c of ['pg', 'my']) {
        for (const query of ['CREATE TABLE t (id integer PRIMARY KEY, v text)', "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')"]) {
          const r = await callTool(s.client, 'execute_query', { connection: c, query });
          expect(r.ok ? 'ok' : r.error.message).toBe('ok');
        }
        const made = await callTool(s.client, 'create_backup', { database: c, format: 'native', output_path: `${c}.native` });
        expect(made.ok ? 'ok' : made.error.message, c).toBe('ok');
        const restored = await callTool(s.client, 'restore_backup', { database: c, backup_path: `${c}.native`, mode: 'replace' });
        expect(restored.ok ? 'ok' : restored.error.message, c).toBe('ok');
      }
      const { default: postgres } = await import('postgres');
      const direct = postgres(pg.url, { max: 1, onnotice: () => undefined });
      expect((await direct.unsafe('SELECT count(*)::int AS n FROM public.t'))[0].n).toBe(3);
      await direct.end();
      const conn = await mysql.createConnection(my.url);
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM t');
      expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(3);
      await conn.end();
    } finally {
      await s.close();
      await pg.drop();
      await my.drop();
    }
  }, 120_000);
});
