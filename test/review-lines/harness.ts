/**
 * Review harness: one table `l` whose columns the new path (mysql/lines.ts) claims, and a
 * twin `v` with an extra INET6 column (read as driver values): a backup of both, the
 * server-built lines of `l` (backup-sql.ts select) beside them, a restore into a second
 * database and a backup of that, and the source and restored rows as the server prints
 * them (HEX of every column, so nothing is lost by a driver).
 */
import mysql from 'mysql2/promise';
import { portable } from '../../src/core/backends/mysql/backup-sql.js';
import { finishMarked } from '../../src/core/backup/sql.js';
import { BACKENDS, freshDatabase, tempDir, MYSQL_URL } from '../support/backends.js';
import { readBackupLines } from '../support/backup-file.js';
import { callTool, startInProcess } from '../support/mcp.js';

type Json = Record<string, any>;
export const QUOTING = { quote: (n: string) => `\`${n.replaceAll('`', '``')}\``, string: (t: string) => `'${t.replaceAll("'", "''")}'` };
export const my = BACKENDS.find((b) => b.name === 'mysql');
export { MYSQL_URL };

export interface Compared {
  /** rowLines(l) was taken (the table's lines made in our process). */
  processMade: boolean;
  /** l's lines (new path), v's lines without their trailing null (driver values), the server-built lines of l. */
  l: string[];
  v: string[];
  server: string[];
  sha: string;
  /** null when restore failed (error text in restoreError). */
  shaAgain: string | null;
  restoreError?: string;
  /** HEX() of every column of l in the source and in the restored copy, ordered by the first column. */
  source: string[];
  restored: string[];
}

async function hexRows(url: string, table: string, cols: string[], all = false): Promise<string[]> {
  const conn = await mysql.createConnection(url);
  try {
    const [rows] = await conn.query(`SELECT CONCAT_WS('|', ${cols.map((c) => `IFNULL(HEX(\`${c}\`), 'NULL')`).join(', ')}) AS h FROM \`${table}\`${all ? ' FOR SYSTEM_TIME ALL' : ''} ORDER BY 1`) as any;
    return (rows as Array<{ h: string }>).map((r) => r.h);
  } finally {
    await conn.end();
  }
}

/**
 * `columns`: the column list of `l` (the INET6 twin adds `g`); `rows`: VALUES tuples.
 * `setup` runs first on the source database; `url`: a server other than the shared one.
 */
export async function compare(columns: string, rows: string[], opts: { setup?: string[]; base?: string; session?: string[]; after?: string[]; options?: string } = {}): Promise<Compared> {
  const backend = opts.base ? { ...my!, url: () => opts.base! } : my!;
  const src = opts.base ? await privateDb(opts.base, 'rvl') : await freshDatabase(backend, 'rvl');
  const dst = opts.base ? await privateDb(opts.base, 'rvl_t') : await freshDatabase(backend, 'rvl_t');
  const dir = tempDir('cmx-rvl-');
  const h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: dir });
  try {
    const admin = await mysql.createConnection(src.url);
    try {
      for (const q of opts.setup ?? []) await admin.query(q);
      await admin.query(`CREATE TABLE l (${columns})${opts.options ?? ''}`);
      await admin.query(`CREATE TABLE v (${columns}, g INET6 NULL)${opts.options ?? ''}`);
      if (rows.length) {
        await admin.query(`INSERT INTO l VALUES ${rows.join(', ')}`);
        await admin.query(`INSERT INTO v VALUES ${rows.map((r) => r.replace(/\)\s*$/, ', NULL)')).join(', ')}`);
      }
      for (const q of opts.after ?? []) for (const t of ['l', 'v']) await admin.query(q.replaceAll('{t}', t));
    } finally {
      await admin.end();
    }
    const b = await callTool(h.client, 'create_backup', { database: 'src', tables: ['l', 'v'], output_path: 'a.cmx.gz' });
    if (!b.ok) throw new Error(`backup: ${b.error.code} ${b.error.message}`);
    const { header, rows: lines } = readBackupLines((b.data as Json).path);
    const def = header.tables.find((t: Json) => t.name === 'l').definition;
    const conn = await mysql.createConnection(src.url);
    let server: string[];
    try {
      for (const q of opts.session ?? []) await conn.query(q);
      await conn.query("SET NAMES utf8mb4, time_zone = '+00:00'");
      const [res] = await conn.query({ sql: portable.select(def, QUOTING), rowsAsArray: true }) as unknown as [Array<[Buffer | string]>];
      server = res.map(([line]) => finishMarked(Buffer.isBuffer(line) ? line.toString('utf8') : String(line)));
    } finally {
      await conn.end();
    }
    const cols = (def.columns as Json[]).map((c) => String(c.name));
    const out: Compared = {
      processMade: Boolean(portable.rowLines!(def, QUOTING)),
      l: lines.l ?? [],
      v: (lines.v ?? []).map((line) => line.replace(/,null\]$/, ']')),
      server,
      sha: (b.data as Json).tables.find((t: Json) => t.name === 'l').sha256,
      shaAgain: null,
      source: await hexRows(src.url, 'l', cols, /SYSTEM VERSIONING/i.test(opts.options ?? '')),
      restored: [],
    };
    const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: 'a.cmx.gz' });
    if (!r.ok) {
      out.restoreError = `${r.error.code} ${r.error.message}`;
      return out;
    }
    const again = await callTool(h.client, 'create_backup', { database: 'dst', tables: ['l'], output_path: 'b.cmx.gz' });
    if (!again.ok) throw new Error(`backup again: ${again.error.code} ${again.error.message}`);
    out.shaAgain = (again.data as Json).tables[0].sha256;
    out.restored = await hexRows(dst.url, 'l', cols, /SYSTEM VERSIONING/i.test(opts.options ?? ''));
    return out;
  } finally {
    await h.close();
    await src.drop();
    await dst.drop();
  }
}

/** A database of our own on a private server (base: mysql://root@127.0.0.1:PORT/x). */
async function privateDb(base: string, tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cmx_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = await mysql.createConnection(base);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = base.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    drop: async () => {
      const a = await mysql.createConnection(base);
      await a.query(`DROP DATABASE IF EXISTS ${name}`);
      await a.end();
    },
  };
}
