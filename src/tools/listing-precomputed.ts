/**
 * tools/list from JSON written at build time (scripts/build.mjs runs listing-gen.ts over the
 * built code): converting every tool's zod schemas to JSON Schema with a cold JIT took about
 * 12 ms of each cold start (and of each HTTP session's first tools/list). A tool whose key
 * is not in the file (tests run from src/, which has none; a context no build variant had), or
 * a file another build wrote, is converted as before: the file is only ever a shortcut to the
 * same answer.
 *
 * The key is what the listing of one tool depends on besides the code of the build: its
 * name, title, description and top-level input keys (the context changes get_connection's
 * description and keys, nothing else). test/unit/tool-listing.test.ts holds the file equal to
 * the conversion for every context it can make.
 */
import { readFileSync } from 'node:fs';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ListedTool } from './listing.js';

export const LISTING_FILE = 'tool-listing.json';

declare const __CMX_BUILD_ID__: string | undefined;
/**
 * The build this code came from (scripts/build.mjs defines it; undefined when running from
 * src/). The file carries the id of the build that wrote it: a dist/ rebuilt or upgraded in
 * place while a server runs is not that server's, and its listing is not used.
 */
export const BUILD_ID: string | undefined = typeof __CMX_BUILD_ID__ === 'string' ? __CMX_BUILD_ID__ : undefined;

/** What the file holds. */
export interface ListingFile {
  build: string | undefined;
  entries: Array<[string, Tool]>;
}

export function listingKey(def: Pick<ListedTool, 'name' | 'title' | 'description' | 'input'>): string {
  return [def.name, def.title, def.description, Object.keys(def.input.shape).join(',')].join('\n');
}

let loaded: Map<string, Tool> | undefined;

/** The build's listings, read once; empty where there is no file (running from src/). */
export function precomputedListings(): Map<string, Tool> {
  if (loaded) return loaded;
  loaded = new Map();
  if (BUILD_ID === undefined) return loaded;
  try {
    const file = JSON.parse(readFileSync(new URL(`./${LISTING_FILE}`, import.meta.url), 'utf8')) as ListingFile;
    if (file.build === BUILD_ID && Array.isArray(file.entries)) loaded = new Map(file.entries);
  } catch {
    // No file, or one that cannot be read: every listing is converted.
  }
  return loaded;
}
