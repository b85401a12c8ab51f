// A statement is lexed once when bound (Statement.lexed) and its tokens serve the stages
// after: only ever for that exact text and that lexer, so no stage can be handed tokens
// that read differently from the text it judges.
import { describe, expect, it } from 'vitest';
import type { ServerContext } from '../../src/context.js';
import { backendModule } from '../../src/core/backends/lookup.js';
import { createOffloader } from '../../src/core/offload/index.js';
import { leadingKeywordOf } from '../../src/core/offload/jobs.js';
import { bindAgent } from '../../src/core/queries.js';
import { lexed, tokensFor } from '../../src/core/sql-lexer.js';

const ctx = { offload: createOffloader() } as unknown as ServerContext;
const sqlite = backendModule('sqlite');
const postgres = backendModule('postgres');

describe('Statement.lexed', () => {
  it('is kept when binding leaves the text as it was, and travels with no copy of the statement', async () => {
    const stmt = await bindAgent(ctx, 'SELECT * FROM t WHERE a = ?', [1], sqlite);
    expect(stmt.lexed?.text).toBe(stmt.text);
    expect(stmt.lexed?.lexer).toBe(sqlite.sql.lexer);
    expect(JSON.parse(JSON.stringify(stmt))).toEqual({ text: 'SELECT * FROM t WHERE a = ?', params: [1] });
    expect({ ...stmt }).not.toHaveProperty('lexed');
  });

  it('is absent when binding rewrote the text', async () => {
    const named = await bindAgent(ctx, 'SELECT :a', { a: 1 }, sqlite);
    expect(named.text).toBe('SELECT ?');
    expect(named.lexed).toBeUndefined();
    const positional = await bindAgent(ctx, 'SELECT ?', [1], postgres);
    expect(positional.text).toBe('SELECT $1');
    expect(positional.lexed).toBeUndefined();
  });

  it('serves only its own text and lexer: other tokens are ignored, and lexed anew', () => {
    const other = lexed('SELECT 1', sqlite.sql.lexer);
    const attach = "\uFEFFATTACH DATABASE '/tmp/x' AS x";
    expect(tokensFor(attach, sqlite.sql.lexer, other).map((t) => t.text).join('')).toBe(attach);
    expect(sqlite.sql.classify(attach, other)).toEqual(sqlite.sql.classify(attach));
    expect(sqlite.sql.classify(attach, other).escape).toMatch(/ATTACH/);
    // Same text, another backend's lexer: not used either.
    const pgTokens = lexed(attach, postgres.sql.lexer);
    expect(tokensFor(attach, sqlite.sql.lexer, pgTokens)).not.toBe(pgTokens.tokens);
    expect(sqlite.sql.classify(attach, pgTokens)).toEqual(sqlite.sql.classify(attach));
  });

  it('gives the leading keyword the text has', () => {
    const text = '/* c */ (SELECT 1)';
    expect(leadingKeywordOf({ count: 1, readOnlyViolation: null, transactionControl: false, altersSession: false }, text, postgres.sql, lexed('DELETE FROM t', postgres.sql.lexer))).toBe('SELECT');
    expect(leadingKeywordOf({ count: 1, readOnlyViolation: null, transactionControl: false, altersSession: false }, text, postgres.sql, lexed(text, postgres.sql.lexer))).toBe('SELECT');
  });
});
