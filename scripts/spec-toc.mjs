// Writes SPEC.md's table of contents (between the two toc markers) from its headings.
// `node scripts/spec-toc.mjs --check` exits 1 when the written one is out of date.
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../SPEC.md', import.meta.url);
const START = '<!-- toc -->';
const END = '<!-- /toc -->';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (text, seen) => {
  const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return n ? `${base}-${n}` : base;
};

export function toc(spec) {
  const seen = new Map();
  const lines = [];
  let fenced = false;
  for (const line of spec.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^(##|###) (.+)$/.exec(line);
    if (!m) continue;
    const id = anchor(m[2], seen);
    lines.push(`${m[1] === '##' ? '' : '  '}- [${m[2].replace(/`/g, '')}](#${id})`);
  }
  return lines.join('\n');
}

const spec = readFileSync(FILE, 'utf8');
const at = spec.indexOf(START);
const end = spec.indexOf(END);
if (at < 0 || end < at) throw new Error(`SPEC.md needs ${START} and ${END} markers`);
const body = spec.slice(0, at) + START + '\n' + toc(spec.slice(end)) + '\n' + spec.slice(end);
if (process.argv.includes('--check')) {
  if (body !== spec) { console.error('SPEC.md: table of contents out of date; run node scripts/spec-toc.mjs'); process.exit(1); }
} else writeFileSync(FILE, body);
