/** Review 7 (independent): fresh cmxrv7_ MariaDB databases and one in-process server over them. */
import { MYSQL_URL, tempDir } from '../support/backends.js';
import { callTool, startInProcess, type Harness } from '../support/mcp.js';
import { mariadb, type Json } from '../review15/harness.js';

export { callTool, mariadb, type Harness, type Json };

export async function rv7Database(tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cmxrv7_${tag}_${process.pid}`;
  const { default: mysql } = await import('mysql2/promise');
  const a = await mysql.createConnection(MYSQL_URL);
  await a.query(`DROP DATABASE IF EXISTS ${name}`); await a.query(`CREATE DATABASE ${name}`); await a.end();
  return { url: MYSQL_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = await mysql.createConnection(MYSQL_URL); await b.query(`DROP DATABASE IF EXISTS ${name}`); await b.end(); } };
}

export async function server(conns: Record<string, string>): Promise<{ h: Harness; dir: string }> {
  const dir = tempDir('cmx-rv7-');
  const h = await startInProcess(Object.fromEntries(Object.entries(conns).map(([k, url]) => [k, { url }])), { backup_dir: dir });
  return { h, dir };
}

/** Server-wide state, as root sees it (root@127.0.0.1 without a database). */
export const root = (script: string): string => mariadb(MYSQL_URL.replace(/\/[^/]*$/, '/mysql'), script);
