/**
 * DDL a restore builds from a backup header's definitions runs on PostgreSQL one statement
 * per message over the extended protocol (Session.runSingle): the database itself refuses a
 * second statement, behind the header's checks and the one-statement lexer check (the
 * review of issue 15 had a forged foreign-key rule run `DROP TABLE` as a second statement).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, PG_URL } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';

describe.skipIf(!BACKENDS.some((b) => b.name === 'postgres'))('PostgreSQL Session.runSingle', () => {
  let h: Harness;
  beforeAll(async () => { h = await startInProcess({ db: { url: PG_URL } }); });
  afterAll(async () => { await h?.close(); });

  it('runs one statement, and refuses a text holding two without running either', async () => {
    const open = await h.ctx.registry.get('db');
    const outcome = await open.dialect.withSession(async (s) => {
      expect(s.runSingle).toBeTypeOf('function');
      await s.begin();
      await s.runSingle!(['CREATE TEMP TABLE cmx_single (id int)']);
      const two = await s.runSingle!(['INSERT INTO cmx_single VALUES (1); DROP TABLE cmx_single']).then(() => 'ran', (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`);
      await s.rollback();
      return two;
    }, { timeoutMs: 10_000 });
    expect(outcome).toMatch(/^SYNTAX_ERROR: .*multiple commands/i);
  });
});
