/**
 * Red-team corpus, runtime connection URLs: query parameters that would change the
 * session settings the guards depend on, or switch on driver features the server keeps
 * off. Each URL is either refused at get_connection, or, if accepted, the settings the
 * server pins are still in force and the attack that relies on the change has no effect.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_URL, PG_URL, tempDir } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';

const token = `RTSECRET${randomBytes(8).toString('hex')}`;
const PG_PARAMS = [
  'standard_conforming_strings=off',
  'options=-c%20standard_conforming_strings%3Doff',
  'options=-cstandard_conforming_strings=off',
  'session_preload_libraries=auto_explain',
  'default_transaction_read_only=off',
  'search_path=pg_temp',
  'role=postgres',
  'backslash_quote=on',
  'client_encoding=SQL_ASCII',
  'application_name=x&standard_conforming_strings=off',
  'STANDARD_CONFORMING_STRINGS=off',
];
const MY_PARAMS = [
  'multipleStatements=true',
  'flags=MULTI_STATEMENTS',
  'flags=%2BMULTI_STATEMENTS',
  'localInfile=true',
  'sql_mode=NO_BACKSLASH_ESCAPES',
  'charset=latin1',
  'database=mysql',
];

describe('red team: runtime URL parameters', () => {
  let h: Harness;
  let dir = '';

  beforeAll(async () => {
    dir = tempDir('cmx-rt-url-');
    chmodSync(dir, 0o777);
    writeFileSync(join(dir, 'secret.txt'), `${token}\n`, { mode: 0o644 });
    h = await startInProcess({}, { allow_runtime_connections: true, read_only: true } as never);
  });

  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(name: string, args: Record<string, unknown>): Promise<{ text: string; error: boolean }> {
    const raw = await h.client.callTool({ name, arguments: args });
    return { text: JSON.stringify(raw), error: raw.isError === true };
  }

  it('PostgreSQL: a parameter never loosens the settings the guards depend on', async () => {
    const effects: string[] = [];
    let n = 0;
    for (const p of PG_PARAMS) {
      const connection = `rtpg${n++}`;
      const got = await call('get_connection', { connection, url: `${PG_URL}?${p}` });
      if (got.error) continue;
      const scs = await call('execute_query', { connection, query: 'SHOW standard_conforming_strings' });
      if (!scs.text.includes('"on"')) effects.push(`${p}: standard_conforming_strings is not on: ${scs.text.slice(0, 200)}`);
      const preload = await call('execute_query', { connection, query: 'SHOW session_preload_libraries' });
      if (preload.text.includes('auto_explain')) effects.push(`${p}: a library was preloaded`);
      for (const q of [`SELECT 'x\\', $$', pg_read_file('${dir}/secret.txt') --$$`, `SELECT ('${dir}/secret.txt'::text).pg_read_file`]) {
        const r = await call('execute_query', { connection, query: q });
        if (r.text.includes(token)) effects.push(`${p}: the secret file was read by ${q}`);
      }
      const w = await call('execute_query', { connection, query: 'CREATE TABLE rt_url_probe (x int)' });
      if (!w.error) effects.push(`${p}: a read-only connection created a table`);
    }
    console.log(`[security] red team urls pg: ${PG_PARAMS.length} parameters, ${effects.length} effects`);
    for (const e of effects) console.log(`[security]   effect: ${e}`);
    expect(effects).toEqual([]);
  }, 120_000);

  it('MySQL: a parameter never switches on multiple statements, local files or another mode', async () => {
    const effects: string[] = [];
    let n = 0;
    for (const p of MY_PARAMS) {
      const connection = `rtmy${n++}`;
      const got = await call('get_connection', { connection, url: `${MYSQL_URL}?${p}` });
      if (got.error) continue;
      const multi = await call('execute_query', { connection, query: 'SELECT 1; SELECT 2' });
      if (!multi.error) effects.push(`${p}: two statements ran in one call`);
      const db = await call('execute_query', { connection, query: 'SELECT DATABASE() AS d, @@sql_mode AS m' });
      if (db.text.includes('NO_BACKSLASH_ESCAPES')) effects.push(`${p}: sql_mode changed: ${db.text.slice(0, 200)}`);
      const r = await call('execute_query', { connection, query: `SELECT '\\', LOAD_FILE('${dir}/secret.txt') -- '` });
      if (r.text.includes(token) || r.text.includes(Buffer.from(`${token}\n`).toString('base64'))) effects.push(`${p}: the secret file was read`);
    }
    console.log(`[security] red team urls mysql: ${MY_PARAMS.length} parameters, ${effects.length} effects`);
    for (const e of effects) console.log(`[security]   effect: ${e}`);
    expect(effects).toEqual([]);
  }, 120_000);
});
