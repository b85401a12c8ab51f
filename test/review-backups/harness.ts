/** The review tests' databases (fresh, dropped after) and one in-process server over them. */
import { freshDatabase, MYSQL_URL, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, mustCall, startInProcess, type Harness } from '../support/mcp.js';
import { mariadb, type Json } from '../review15/harness.js';

export { callTool, mariadb, mustCall, type Harness, type Json };

/** A fresh database of PostgreSQL or MariaDB, and how to drop it (support/backends.ts freshDatabase). */
export function reviewDatabase(backend: 'postgres' | 'mysql', tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  return freshDatabase({ name: backend } as TestBackend, `rv_${tag}`);
}

export async function server(conns: Record<string, string>): Promise<{ h: Harness; dir: string }> {
  const dir = tempDir('cmx-rv-bk-');
  const h = await startInProcess(Object.fromEntries(Object.entries(conns).map(([k, url]) => [k, { url }])), { backup_dir: dir });
  return { h, dir };
}

/** Server-wide state, as root sees it (root@127.0.0.1 without a database). */
export const root = (script: string): string => mariadb(MYSQL_URL.replace(/\/[^/]*$/, '/mysql'), script);
