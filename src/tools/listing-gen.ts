/**
 * Build step (scripts/build.mjs): the listing of every tool under each context that changes
 * one (runtime connections allowed or not, stateless HTTP, read-only), written beside the
 * bundle as listing-precomputed.ts reads it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, parseCli } from '../config.js';
import { createContext } from '../context.js';
import { selectTools } from '../mcp.js';
import { listing } from './listing.js';
import { BUILD_ID, LISTING_FILE, listingKey, type ListingFile } from './listing-precomputed.js';

const VARIANTS = [[], ['--allow-runtime-connections'], ['--transport', 'http', '--stateless'], ['--read-only']];

export async function writeListings(dir: string): Promise<number> {
  const data = mkdtempSync(join(tmpdir(), 'cmx-listing-'));
  const entries = new Map<string, Tool>();
  try {
    for (const args of VARIANTS) {
      const config = loadConfig(parseCli([...args, '--connection', 'x=sqlite::memory:']), { XDG_DATA_HOME: data }, data);
      const ctx = createContext(config, { logger: pino({ level: 'silent' }) });
      try {
        for (const def of selectTools(ctx)) entries.set(listingKey(def), listing(def));
      } finally {
        await ctx.registry.closeAll();
        await ctx.queryLog.close();
      }
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  const file: ListingFile = { build: BUILD_ID, entries: [...entries] };
  writeFileSync(join(dir, LISTING_FILE), JSON.stringify(file));
  return entries.size;
}
