/**
 * tools/list is served from dist/tool-listing.json, written by the build
 * (src/tools/listing-precomputed.ts). The file must say exactly what converting the
 * schemas says, for every context that can change a listing, and must hold every tool of
 * the source (a missing key only costs time, but then the shortcut silently stopped
 * working). The built server must serve the same listing as one running from src/.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseCli } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { selectTools } from '../../src/mcp.js';
import { listing } from '../../src/tools/listing.js';
import { LISTING_FILE, listingKey, type ListingFile } from '../../src/tools/listing-precomputed.js';
import { tempDir } from '../support/backends.js';
import { startStdio } from '../support/mcp.js';

const file = JSON.parse(readFileSync(join(resolve(import.meta.dirname, '../../dist'), LISTING_FILE), 'utf8')) as ListingFile;
const built = new Map<string, Tool>(file.entries);

const CONTEXTS = [
  [],
  ['--allow-runtime-connections'],
  ['--read-only'],
  ['--read-only', '--allow-runtime-connections'],
  ['--transport', 'http', '--stateless'],
  ['--transport', 'http', '--stateless', '--allow-runtime-connections'],
  ['--transport', 'http'],
  ['--tools', 'queries,backup'],
];

describe('the build-time tool listing', () => {
  for (const args of CONTEXTS) {
    it(`equals the conversion of every tool's schemas (${args.join(' ') || 'defaults'})`, async () => {
      const data = tempDir('cmx-listing-test-');
      const ctx = createContext(loadConfig(parseCli([...args, '--connection', 'x=sqlite::memory:']), { XDG_DATA_HOME: data }, data), { logger: pino({ level: 'silent' }) });
      try {
        const defs = selectTools(ctx);
        expect(defs.length).toBeGreaterThan(0);
        for (const def of defs) {
          const key = listingKey(def);
          expect(built.has(key), `${def.name} is missing from dist/${LISTING_FILE}`).toBe(true);
          expect(built.get(key), def.name).toEqual(listing(def));
        }
      } finally {
        await ctx.registry.closeAll();
        await ctx.queryLog.close();
      }
    });
  }

  it('the file names the build that wrote it', () => {
    expect(file.build).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the built server serves the file (not a conversion) when the file is its build\'s', async () => {
    // A copy of dist/ inside the project (so node_modules resolves), its file marked: the mark must be served.
    const copy = mkdtempSync(join(import.meta.dirname, '.dist-copy-'));
    try {
      cpSync(resolve(import.meta.dirname, '../../dist'), copy, { recursive: true });
      const marked: ListingFile = { build: file.build, entries: file.entries.map(([k, t]) => [k, t.name === 'list_backups' ? { ...t, description: 'MARK' } : t]) };
      writeFileSync(join(copy, LISTING_FILE), JSON.stringify(marked));
      const s = await startStdio(['--connection', 'x=sqlite::memory:'], {}, join(copy, 'server.js'));
      try {
        const { tools } = await s.client.listTools();
        expect(tools.find((t) => t.name === 'list_backups')?.description).toBe('MARK');
      } finally {
        await s.close();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('the built server lists the same tools as the conversion', async () => {
    const s = await startStdio(['--connection', 'x=sqlite::memory:']);
    try {
      const { tools } = await s.client.listTools();
      const data = tempDir('cmx-listing-test-');
      const ctx = createContext(loadConfig(parseCli(['--connection', 'x=sqlite::memory:']), { XDG_DATA_HOME: data }, data), { logger: pino({ level: 'silent' }) });
      try {
        expect(tools).toEqual(selectTools(ctx).map(listing));
      } finally {
        await ctx.registry.closeAll();
        await ctx.queryLog.close();
      }
    } finally {
      await s.close();
    }
  });
});
