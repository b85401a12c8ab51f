/**
 * Red-team corpus, secrets: a connection password that comes back from the database
 * in another form (case-folded, upper-cased, quoted, URL-encoded) must not appear in
 * any error or in what the query log keeps. The password here is one the agent never
 * needs to type, so any form of it in an output is a leak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_URL, PG_URL } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';

const SECRET = 'S3ntinelPlain42';
const forms = [SECRET, SECRET.toLowerCase(), SECRET.toUpperCase()];

describe('red team: secrets in other forms', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startInProcess({}, { allow_runtime_connections: true } as never);
  });
  afterAll(async () => { await h?.close(); });

  it('no form of the password appears in errors or in the query log', async () => {
    const outputs: string[] = [];
    const call = async (name: string, args: Record<string, unknown>): Promise<void> => {
      const raw = await h.client.callTool({ name, arguments: args });
      outputs.push(JSON.stringify(raw));
    };
    // Trust authentication accepts any password: the URL still carries one, so it is a secret.
    const pg = PG_URL.replace('postgres@', `postgres:${SECRET}@`);
    const my = MYSQL_URL.replace('root@', `root:${SECRET}@`);
    await call('get_connection', { connection: 'pgs', url: pg });
    await call('get_connection', { connection: 'mys', url: my });
    const attempts = [
      `SELECT * FROM ${SECRET}`,
      `SELECT "${SECRET}"`,
      `SELECT '${SECRET}'::int`,
      `SELECT * FROM "${SECRET.toUpperCase()}"`,
      `SELECT ${SECRET}()`,
      `SELECT 1 FROM ${SECRET.toLowerCase()}_x`,
      `SELECT * FROM \`${SECRET}\``,
    ];
    for (const query of attempts) {
      await call('execute_query', { connection: 'pgs', query });
      await call('execute_query', { connection: 'mys', query });
    }
    await call('analyze_slow_queries', { connection: 'pgs' });
    await call('analyze_slow_queries', { connection: 'mys' });
    await call('list_connections', {});
    const leaks = outputs.filter((o) => forms.some((f) => o.toLowerCase().includes(f.toLowerCase())) || o.includes(encodeURIComponent(SECRET)));
    console.log(`[security] red team secrets: ${outputs.length} outputs, ${leaks.length} leaks`);
    for (const l of leaks) console.log(`[security]   leak: ${l.slice(0, 300)}`);
    expect(leaks).toEqual([]);
  }, 120_000);
});
