/**
 * Review of a037d2c (tools/list from dist/tool-listing.json). The file is read on the first
 * tools/list, not when the server starts, and nothing ties it to the build the running code
 * came from: the key is name, title, description and top-level input keys. A server started
 * from one build whose first tools/list comes after dist/ was rebuilt or upgraded in place
 * (npm install of a new version, `npm run build` beside a running HTTP server whose first
 * session arrives later) lists the new build's schemas while it validates calls against its
 * own. Any change below the top level (a nested field, an enum value, a field description,
 * the output schema, the annotations) leaves the key unchanged.
 *
 * Here the "new build" is the same file with one nested change an upgrade could make
 * (execute_query's max_rows described differently), written after the server answered
 * initialize and before its first tools/list: the running server serves it as its own.
 * (A build id in the bundle and the file, or reading the file at start-up, would tie them.)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = resolve(import.meta.dirname, '../../dist');

describe('the build-time listing and the code that serves it', () => {
  // Inside the project, so the copy resolves the project's node_modules as an installed package would.
  const copy = mkdtempSync(join(import.meta.dirname, '.dist-copy-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('a running server lists the schemas of the build it runs, not of a dist/ replaced after it started', async () => {
    const dist = join(copy, 'dist');
    cpSync(DIST, dist, { recursive: true });
    const file = join(dist, 'tool-listing.json');
    const written = JSON.parse(readFileSync(file, 'utf8')) as { build: string; entries: Array<[string, Tool]> };
    const own = new Map<string, Tool>(written.entries);

    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const transport = new StdioClientTransport({ command: process.execPath, args: [join(dist, 'server.js'), '--connection', 'x=sqlite::memory:'], env: { PATH: process.env.PATH ?? '', HOME: copy, XDG_DATA_HOME: copy }, stderr: 'ignore' });
    const client = new Client({ name: 'review-cold', version: '0' });
    await client.connect(transport);
    try {
      // The server is up (initialized). Now dist/ is replaced by a build whose nested schemas differ.
      const next = [...own].map(([k, t]) => {
        const u = structuredClone(t);
        const props = (u.inputSchema.properties ?? {}) as Record<string, { description?: string }>;
        if (u.name === 'execute_query' && props.max_rows) props.max_rows.description = 'NEW BUILD: rows per page';
        return [k, u];
      });
      writeFileSync(file, JSON.stringify({ build: 'another-build', entries: next }));
      const { tools } = await client.listTools();
      const served = tools.find((t) => t.name === 'execute_query');
      const ownListing = [...own.values()].find((t) => t.name === 'execute_query');
      expect(served?.inputSchema).toEqual(ownListing?.inputSchema);
    } finally {
      await client.close();
    }
  }, 60_000);
});
