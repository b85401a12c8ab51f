/**
 * A client nobody here wrote: the MCP Inspector CLI (@modelcontextprotocol/inspector-cli,
 * a devDependency) starts the stdio server from a Claude Desktop-shaped config file
 * (command, args, env with absolute paths, as the README shows), lists the tools
 * and calls execute_query, and we parse its JSON output.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/backends.js';
import { SERVER_JS } from '../support/mcp.js';

const run = promisify(execFile);
const PACKAGE = resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol/inspector-cli');
const BIN = resolve(import.meta.dirname, '../../node_modules/.bin/mcp-inspector-cli');
const installed = existsSync(BIN);

function claudeDesktopConfig(readOnly = false): string {
  const dir = tempDir('cmx-inspector-');
  const db = join(dir, 'app.db');
  // A read-only SQLite connection never creates its file.
  if (readOnly) new Database(db).close();
  const file = join(dir, 'claude_desktop_config.json');
  writeFileSync(file, JSON.stringify({
    mcpServers: {
      db: { command: process.execPath, args: [SERVER_JS, ...(readOnly ? ['--read-only'] : [])], env: { DATABASE_URL: `sqlite://${db}`, XDG_DATA_HOME: dir } },
    },
  }));
  return file;
}

async function inspect(config: string, ...args: string[]): Promise<Record<string, unknown>> {
  // inspector-cli 1.0.3 looks for "../package.json" relative to the working directory but
  // imports it relative to its own file: only a working directory one level down in the
  // package satisfies both (from anywhere else it fails with "Cannot find module").
  const { stdout } = await run(BIN, ['--cli', '--config', config, '--server', 'db', ...args], { cwd: join(PACKAGE, 'build'), timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe.runIf(installed)('the MCP Inspector CLI against the stdio server', () => {
  it('lists the tools with their schemas', async () => {
    const out = await inspect(claudeDesktopConfig(), '--method', 'tools/list');
    const tools = out.tools as Array<{ name: string; inputSchema: { type: string }; annotations: Record<string, boolean> }>;
    expect(tools.map((t) => t.name)).toContain('execute_query');
    expect(tools).toHaveLength(21);
    for (const t of tools) expect(t.inputSchema.type).toBe('object');
  });

  it('calls execute_query with a query and bound params', async () => {
    const config = claudeDesktopConfig();
    const out = await inspect(config, '--method', 'tools/call', '--tool-name', 'execute_query', '--tool-arg', 'query=select ? + 1 as two', 'params=[1]');
    expect(out.isError).toBeUndefined();
    expect(out.structuredContent).toMatchObject({ connection: 'default', columns: [{ name: 'two' }], rows: [[2]], truncated: false });
    // The text block carries the same rows for text-only clients, one JSON array per line (SPEC §3.4).
    expect((out.content as Array<{ text: string }>)[0].text.split('\n').slice(-1)).toEqual(['[2]']);
  });

  it('sees the refusal of a write on the read-only connection as an error result', async () => {
    const out = await inspect(claudeDesktopConfig(true), '--method', 'tools/call', '--tool-name', 'execute_query', '--tool-arg', 'query=create table t (a int)');
    expect(out.isError).toBe(true);
    expect(JSON.parse((out.content as Array<{ text: string }>)[0].text).error.code).toBe('READ_ONLY_VIOLATION');
  });

  it('lists the prompts', async () => {
    const out = await inspect(claudeDesktopConfig(), '--method', 'prompts/list');
    expect((out.prompts as Array<{ name: string }>).map((p) => p.name)).toEqual(['explore_database', 'plan_migration', 'diagnose_slow_query']);
  });
});

// Said only when it applies, so a normal run does not report a skipped test.
if (!installed) it.skip(`MCP Inspector CLI: not installed (${dirname(BIN)} has no mcp-inspector-cli); npm ci installs it, it is a devDependency`, () => undefined);
