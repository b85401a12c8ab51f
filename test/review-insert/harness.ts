/**
 * Review harness (commit 1269b6d, MySQL INSERT tuples from JSON lines): a source database
 * (MariaDB, PostgreSQL or SQLite) set up by SQL, create_backup of it, restore_backup into a
 * fresh MariaDB database, and both sides' rows. Also: rewriting a backup's row lines and
 * its checksums (a crafted backup that passes every check but the JSON parse).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
export const my = BACKENDS.find((b) => b.name === 'mysql');

export interface Db { url: string; drop(): Promise<void> }

export async function mysqlRun(url: string, statements: string[]): Promise<void> {
  const c = await mysql.createConnection({ uri: url, multipleStatements: false });
  try { for (const s of statements) await c.query(s); } finally { await c.end(); }
}

export async function mysqlRows(url: string, sql: string): Promise<unknown[][]> {
  const c = await mysql.createConnection(url);
  try {
    await c.query("SET time_zone = '+00:00'");
    const [rows] = await c.query({ sql, rowsAsArray: true });
    return rows as unknown[][];
  } finally { await c.end(); }
}

export interface Trip {
  h: Harness;
  dir: string;
  src: Db;
  dst: Db;
  close(): Promise<void>;
  backup(tables?: string[], name?: string): Promise<string>;
  restore(name: string, mode?: string, extra?: Json): Promise<{ ok: boolean; data?: Json; error?: { code: string; message: string } }>;
}

/** src and dst: fresh MariaDB databases, served by one in-process server. */
export async function trip(): Promise<Trip> {
  const src = await freshDatabase(my!, 'rvi');
  const dst = await freshDatabase(my!, 'rvi_t');
  const dir = tempDir('cmx-rvi-');
  const h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
  return {
    h, dir, src, dst,
    async close() { await h.close(); await src.drop(); await dst.drop(); },
    async backup(tables, name = `b${Math.random().toString(36).slice(2, 8)}.cmx.gz`) {
      const b = await callTool(h.client, 'create_backup', { database: 'src', ...(tables ? { tables } : {}), output_path: name });
      if (!b.ok) throw new Error(`backup: ${b.error.code} ${b.error.message}`);
      return String((b.data as Json).path);
    },
    async restore(name, mode = 'create', extra = {}) {
      const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: basename(name), mode, ...extra });
      return r.ok ? { ok: true, data: r.data as Json } : { ok: false, error: r.error };
    },
  };
}

/**
 * Rewrites the row lines of a portable backup (`edit` gets each table's lines, returns the
 * new ones) and writes it under a new name with every checksum made to match: each table's
 * end line, the manifest's per-table sha256 and rows, the file's size and SHA-256. What is
 * left is what a crafted (or carefully damaged) backup looks like to restore_backup.
 */
export function craft(path: string, newName: string, edit: (table: string, lines: string[]) => string[]): string {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const lines = text.split('\n');
  const out: string[] = [];
  let table = '';
  let rows: string[] = [];
  const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as Json;
  const ends: Json[] = [];
  for (const line of lines) {
    if (line.startsWith('[')) { rows.push(line); continue; }
    if (line.startsWith('{"table"')) { const o = JSON.parse(line); table = String(o.name ?? o.table); rows = []; out.push(line); continue; }
    if (line.startsWith('{"end"')) {
      const o = JSON.parse(line) as Json;
      const edited = edit(table, rows);
      const sha = createHash('sha256').update(edited.map((l) => `${l}\n`).join('')).digest('hex');
      out.push(...edited);
      // Rows as restore counts them: physical lines (a raw newline in a string makes two).
      const n = edited.length ? edited.join('\n').split('\n').length : 0;
      out.push(JSON.stringify({ ...o, rows: n, sha256: sha }));
      ends[o.end] = { rows: n, sha256: sha };
      const m = manifest.tables[o.end];
      m.sha256 = sha;
      m.rows = n;
      continue;
    }
    if (line.startsWith('{"trailer"')) {
      const o = JSON.parse(line) as Json;
      o.tables = o.tables.map((t: Json, i: number) => ({ ...t, ...(ends[i] ?? {}) }));
      o.rows = o.tables.reduce((a: number, t: Json) => a + (t.rows ?? 0), 0);
      out.push(JSON.stringify(o));
      continue;
    }
    out.push(line);
  }
  const gz = gzipSync(Buffer.from(out.join('\n')));
  const target = join(dirname(path), newName);
  writeFileSync(target, gz);
  manifest.file = newName;
  manifest.size = gz.length;
  manifest.sha256 = createHash('sha256').update(gz).digest('hex');
  manifest.rows = manifest.tables.reduce((a: number, t: Json) => a + (t.rows ?? 0), 0);
  writeFileSync(`${target}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  return target;
}
