/** Reading a portable backup file as written (its header and each table's row lines), and crafting an edited copy of one. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

type Json = Record<string, any>;

export function readBackupLines(path: string): { header: Json; rows: Record<string, string[]> } {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter(Boolean);
  const header = JSON.parse(lines[0]!) as Json;
  const rows: Record<string, string[]> = {};
  let table = '';
  for (const line of lines.slice(1)) {
    if (line.startsWith('[')) rows[table]!.push(line);
    else if (line.startsWith('{"table"')) { table = String(JSON.parse(line).name); rows[table] = []; }
  }
  return { header, rows };
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A copy of a portable backup with its lines edited, under a new name, with a manifest that matches it. */
export function craft(dir: string, from: string, to: string, edit: (lines: string[]) => string[]): string {
  const lines = gunzipSync(readFileSync(join(dir, from))).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out = edit(lines);
  // Per-table checksums (the row lines exactly as written) and the trailer, recomputed.
  const header = JSON.parse(out[0]);
  const sums: Array<{ name: string; schema?: string; rows: number; sha256: string }> = [];
  let cur: { i: number; h: ReturnType<typeof createHash>; n: number } | undefined;
  for (let k = 1; k < out.length; k++) {
    const l = out[k];
    if (l.startsWith('[')) { cur!.h.update(`${l}\n`); cur!.n++; continue; }
    const o = JSON.parse(l);
    if ('table' in o && typeof o.table === 'number') cur = { i: o.table, h: createHash('sha256'), n: 0 };
    else if ('end' in o) {
      const s = cur!.h.digest('hex');
      out[k] = JSON.stringify({ ...o, rows: cur!.n, sha256: s });
      const t = header.tables[cur!.i];
      sums.push({ name: t.name, ...(t.schema ? { schema: t.schema } : {}), rows: cur!.n, sha256: s });
    } else if (o.trailer) out[k] = JSON.stringify({ ...o, tables: sums, rows: sums.reduce((a, b) => a + b.rows, 0) });
  }
  const data = gzipSync(`${out.join('\n')}\n`);
  writeFileSync(join(dir, to), data);
  const manifest = JSON.parse(readFileSync(join(dir, `${from}.manifest.json`), 'utf8'));
  writeFileSync(join(dir, `${to}.manifest.json`), JSON.stringify({ ...manifest, file: to, size: data.length, sha256: sha(data), tables: sums, rows: sums.reduce((a, b) => a + b.rows, 0) }));
  return to;
}

export const editHeader = (f: (h: Json) => void) => (lines: string[]): string[] => { const h = JSON.parse(lines[0]); f(h); return [JSON.stringify(h), ...lines.slice(1)]; };
