/**
 * The MCP features beyond tools, through a real SDK client in process:
 * capabilities and instructions, tool metadata, --tools, prompts, logging
 * notifications and their levels, paginated resources, list changes, and
 * events shared by several servers on one context (as HTTP sessions are).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  LoggingMessageNotificationSchema, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema, type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createContext, type ServerContext } from '../../src/context.js';
import { DbError } from '../../src/errors.js';
import { createServer, selectTools } from '../../src/mcp.js';
import { RESOURCE_PAGE_SIZE } from '../../src/resources/index.js';
import { BACKENDS, PG_URL, tempDir, uniqueName } from '../support/backends.js';
import { callTool, mustCall, startInProcess, testConfig, type ConnectionSpec } from '../support/mcp.js';

const QUERY_TOOLS = ['get_connection', 'list_connections', 'close_connection', 'execute_query', 'execute_transaction'];
const lite = (): ConnectionSpec => ({ url: 'sqlite::memory:' });

/** One client on a server built on `ctx`; several may share a context. */
async function connect(ctx: ServerContext): Promise<Client> {
  const server = createServer(ctx);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'codomyrmex-test', version: '0.0.0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  return client;
}

function collectLogs(client: Client): Array<LoggingMessageNotification['params']> {
  const seen: Array<LoggingMessageNotification['params']> = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { seen.push(n.params); });
  return seen;
}

const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('capabilities, instructions and tools', () => {
  it('declares what the server does and no list changes it never sends', async () => {
    const h = await startInProcess({ default: lite() });
    try {
      const caps = h.client.getServerCapabilities();
      expect(caps).toMatchObject({
        tools: { listChanged: false }, prompts: { listChanged: false },
        resources: { subscribe: true, listChanged: true }, logging: {}, completions: {},
      });
      expect(h.client.getInstructions()).toMatch(/MySQL\/MariaDB, PostgreSQL and SQLite/);
      expect(h.client.getInstructions()).toMatch(/run_migration/);
      const { tools } = await h.client.listTools();
      for (const t of tools) {
        expect(t.title, t.name).toBeTruthy();
        expect(t.description!.length, t.name).toBeGreaterThan(40);
        expect(t.outputSchema, t.name).toBeDefined();
        expect(t.annotations, t.name).toMatchObject({ openWorldHint: false });
        expect(typeof t.annotations?.readOnlyHint, t.name).toBe('boolean');
        // Listed only where meaningful (not on read-only tools) and not the default (true).
        if (t.annotations?.readOnlyHint) expect(t.annotations, t.name).not.toHaveProperty('destructiveHint');
        else expect([undefined, false], t.name).toContain(t.annotations?.destructiveHint);
      }
    } finally {
      await h.close();
    }
  });

  it('keeps every tool definition compact: no repeated $schema, under 6 KiB each', async () => {
    const h = await startInProcess({ default: lite() });
    try {
      for (const t of (await h.client.listTools()).tools) {
        const text = JSON.stringify(t);
        expect(text, t.name).not.toContain('$schema');
        // The schema and monitor tools carry the portable table and plan shapes; the rest stay far below.
        expect(Buffer.byteLength(text), t.name).toBeLessThan(6144);
      }
    } finally {
      await h.close();
    }
  });

  it('lists only the managers and tools --tools names, in the usual order', async () => {
    const h = await startInProcess({ default: lite() }, { tools: ['queries'] });
    try {
      expect((await h.client.listTools()).tools.map((t) => t.name)).toEqual(QUERY_TOOLS);
      expect(h.client.getInstructions()).not.toMatch(/run_migration/);
      const missing = await h.client.callTool({ name: 'run_migration', arguments: {} }).catch((e: Error) => e);
      expect(String(missing)).toMatch(/Tool run_migration not found/);
    } finally {
      await h.close();
    }
    const ctx = createContext(testConfig({ default: lite() }, { tools: ['get_migration_status', 'execute_query'] }), { logger: pino({ level: 'silent' }) });
    expect(selectTools(ctx).map((t) => t.name)).toEqual(['execute_query', 'get_migration_status']);
  });

  it('refuses an unknown manager or tool name with INVALID_INPUT naming the known ones', () => {
    const ctx = createContext(testConfig({ default: lite() }, { tools: ['queries', 'schemas'] }), { logger: pino({ level: 'silent' }) });
    const err = (() => { try { selectTools(ctx); } catch (e) { return e; } })() as DbError;
    expect(err).toBeInstanceOf(DbError);
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toMatch(/"schemas" is neither a manager \(queries, migrations, schema, performance, backup\)/);
  });
});

describe('prompts', () => {
  it('lists three prompts, each taking a connection with completion', async () => {
    const h = await startInProcess({ main: lite(), mirror: lite(), other: lite() });
    try {
      const { prompts } = await h.client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(['explore_database', 'plan_migration', 'diagnose_slow_query']);
      for (const p of prompts) {
        expect(p.description).toBeTruthy();
        expect(p.arguments?.map((a) => a.name)).toContain('connection');
      }
      const done = await h.client.complete({ ref: { type: 'ref/prompt', name: 'plan_migration' }, argument: { name: 'connection', value: 'm' } });
      expect(done.completion.values).toEqual(['main', 'mirror']);
    } finally {
      await h.close();
    }
  });

  it('writes backend-specific steps that name only tools this server exposes', async () => {
    const h = await startInProcess({ lite: lite(), pg: { url: PG_URL } }, { tools: ['queries'] });
    try {
      const text = async (name: string, args: Record<string, string>): Promise<string> => {
        const r = await h.client.getPrompt({ name, arguments: args });
        expect(r.messages[0].role).toBe('user');
        return (r.messages[0].content as { text: string }).text;
      };
      const explore = await text('explore_database', { connection: 'lite', focus: 'orders' });
      expect(explore).toMatch(/sqlite_schema/);
      expect(explore).toMatch(/focus on: orders/);
      expect(explore).not.toMatch(/get_schema/);
      expect(await text('explore_database', { connection: 'pg' })).toMatch(/information_schema\.tables/);
      const slow = await text('diagnose_slow_query', { connection: 'pg', query: 'SELECT * FROM t WHERE a = 1' });
      expect(slow).toMatch(/EXPLAIN \(FORMAT JSON\)/);
      expect(slow).toMatch(/SELECT \* FROM t WHERE a = 1/);
      expect(slow).not.toMatch(/analyze_slow_queries|monitor_query_performance|create_migration/);
      expect(await text('plan_migration', { connection: 'lite', change: 'add an email column to users' })).toMatch(/create_migration.*dry_run|dry_run/s);
      const unknown = await h.client.getPrompt({ name: 'explore_database', arguments: { connection: 'nope' } }).catch((e: Error) => e);
      expect(String(unknown)).toMatch(/no connection named "nope"/);
    } finally {
      await h.close();
    }
  });
});

describe('logging notifications', () => {
  it('sends notice and worse by default, honours logging/setLevel, and says what migrations did', async () => {
    const h = await startInProcess({ db: { url: `sqlite://${tempDir()}/log.db`, migrations_dir: tempDir('cmx-mig-') } });
    try {
      const logs = collectLogs(h.client);
      await mustCall(h.client, 'get_connection', { connection: 'db' });
      await settle();
      expect(logs).toEqual([]);
      await h.client.setLoggingLevel('info');
      await mustCall(h.client, 'close_connection', { connection: 'db' });
      await mustCall(h.client, 'get_connection', { connection: 'db' });
      await settle();
      expect(logs).toEqual([{ level: 'info', logger: 'codomyrmex-db', data: expect.objectContaining({ event: 'connection_opened', connection: 'db', backend: 'sqlite' }) }]);
      await mustCall(h.client, 'create_migration', { connection: 'db', name: 'create_t', up: 'CREATE TABLE t (a integer)', down: 'DROP TABLE t' });
      await mustCall(h.client, 'run_migration', { connection: 'db', dry_run: true });
      const run = await mustCall(h.client, 'run_migration', { connection: 'db' });
      const applied = (run.applied as Array<{ version: string }>)[0].version;
      await mustCall(h.client, 'rollback_migration', { connection: 'db' });
      await settle();
      expect(logs.slice(1).map((l) => l.data)).toEqual([
        { event: 'migrations_applied', connection: 'db', count: 1, versions: [`${applied}_create_t`] },
        { event: 'migrations_rolled_back', connection: 'db', count: 1, versions: [`${applied}_create_t`] },
      ]);
      expect(logs[1].level).toBe('notice');
      await h.client.setLoggingLevel('error');
      await mustCall(h.client, 'run_migration', { connection: 'db' });
      await mustCall(h.client, 'create_migration', { connection: 'db', name: 'broken', up: 'CREATE TABLE broken (', down: 'SELECT 1' });
      expect((await callTool(h.client, 'run_migration', { connection: 'db' })).ok).toBe(false);
      await settle();
      expect(logs.slice(3)).toEqual([{ level: 'error', logger: 'codomyrmex-db', data: expect.objectContaining({ event: 'migration_failed', connection: 'db', direction: 'up' }) }]);
    } finally {
      await h.close();
    }
  });

  it.runIf(BACKENDS.some((b) => b.name === 'postgres'))('tells every client when a connection is lost under a call, without its password', async () => {
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    const app = uniqueName('cmx_lost');
    // A password the server must keep out of the notification (trust auth ignores it).
    const url = PG_URL.replace('://postgres@', '://postgres:hunter2-secret@');
    const ctx = createContext(testConfig({ pg: { url } }), { logger: pino({ level: 'silent' }) });
    const [caller, watcher] = [await connect(ctx), await connect(ctx)];
    try {
      const logs = collectLogs(watcher);
      // The comment names this call's backend in pg_stat_activity (URLs take no application_name).
      const call = callTool(caller, 'execute_transaction', { connection: 'pg', queries: [{ query: `SELECT pg_sleep(10) /* ${app} */` }] });
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await settle(30);
        killed = (await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(10) /* ${app} */%' AND pid <> pg_backend_pid()`)).length;
      }
      const r = await call;
      expect(r.ok ? 'ok' : r.error.code).toBe('CONNECTION_LOST');
      await settle();
      expect(logs.map((l) => [l.level, l.data])).toEqual([['warning', expect.objectContaining({ event: 'connection_lost', connection: 'pg' })]]);
      expect(JSON.stringify(logs)).not.toContain('hunter2');
    } finally {
      await caller.close();
      await watcher.close();
      await ctx.registry.closeAll();
      await admin.end();
    }
  });
});

describe('resources', () => {
  it('pages resources/list by RESOURCE_PAGE_SIZE with an opaque cursor', async () => {
    const many = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`c${String(i).padStart(3, '0')}`, lite()]));
    const h = await startInProcess(many);
    try {
      const uris: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await h.client.listResources(cursor ? { cursor } : {});
        expect(page.resources.length).toBeLessThanOrEqual(RESOURCE_PAGE_SIZE);
        uris.push(...page.resources.map((r) => r.uri));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      // Three per-connection templates (migration status, statistics, schema); no table lists
      // for connections that are not open.
      expect(pages).toBe(Math.ceil((250 * 3) / RESOURCE_PAGE_SIZE));
      expect(uris.filter((u) => u.startsWith('migrations://'))).toEqual(Object.keys(many).map((n) => `migrations://${n}/status`));
      expect(new Set(uris).size).toBe(uris.length);
      const bad = await h.client.listResources({ cursor: 'not-a-cursor' }).catch((e: Error) => e);
      expect(String(bad)).toMatch(/invalid cursor/);
    } finally {
      await h.close();
    }
  });

  it('tells clients the list changed when a connection is registered at runtime', async () => {
    const h = await startInProcess({ default: lite() }, { allow_runtime_connections: true });
    try {
      let changed = 0;
      h.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => { changed++; });
      await mustCall(h.client, 'get_connection', { connection: 'extra', url: 'sqlite::memory:' });
      await mustCall(h.client, 'get_connection', { connection: 'extra', url: 'sqlite::memory:' });
      await settle();
      expect(changed).toBe(1);
      expect((await h.client.listResources()).resources.map((r) => r.uri)).toContain('migrations://extra/status');
    } finally {
      await h.close();
    }
  });

  it('notifies a subscriber on another server of the same context, and only subscribers', async () => {
    const ctx = createContext(testConfig({ db: { url: `sqlite://${tempDir()}/shared.db`, migrations_dir: tempDir('cmx-mig-') } }), { logger: pino({ level: 'silent' }) });
    const [actor, subscriber, bystander] = [await connect(ctx), await connect(ctx), await connect(ctx)];
    try {
      const heard = { subscriber: 0, bystander: 0 };
      subscriber.setNotificationHandler(ResourceUpdatedNotificationSchema, () => { heard.subscriber++; });
      bystander.setNotificationHandler(ResourceUpdatedNotificationSchema, () => { heard.bystander++; });
      await subscriber.subscribeResource({ uri: 'migrations://db/status' });
      await mustCall(actor, 'create_migration', { connection: 'db', name: 'shared', up: 'CREATE TABLE shared (a integer)' });
      await settle();
      expect(heard).toEqual({ subscriber: 1, bystander: 0 });
      await subscriber.unsubscribeResource({ uri: 'migrations://db/status' });
      await mustCall(actor, 'run_migration', { connection: 'db' });
      await settle();
      expect(heard).toEqual({ subscriber: 1, bystander: 0 });
      const listeners = ctx.events.size();
      await bystander.close();
      await settle();
      expect(ctx.events.size()).toBe(listeners - 1);
    } finally {
      await actor.close();
      await subscriber.close();
      await ctx.registry.closeAll();
    }
  });
});
