/** Review 6 (independent): fresh cmxrv_ databases and one in-process server over them. */
import { MYSQL_URL, PG_URL, tempDir, type TestBackend } from '../support/backends.js';
import { startInProcess, type Harness } from '../support/mcp.js';

export async function rv6Database(backend: TestBackend['name'], tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cmxrv_${tag}_${process.pid}`;
  if (backend === 'postgres') {
    const { default: postgres } = await import('postgres');
    const a = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await a.unsafe(`CREATE DATABASE ${name}`); await a.end();
    return { url: PG_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = postgres(PG_URL, { max: 1, onnotice: () => undefined }); await b.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await b.end(); } };
  }
  const { default: mysql } = await import('mysql2/promise');
  const a = await mysql.createConnection(MYSQL_URL);
  await a.query(`DROP DATABASE IF EXISTS ${name}`); await a.query(`CREATE DATABASE ${name}`); await a.end();
  return { url: MYSQL_URL.replace(/\/[^/]*$/, `/${name}`), drop: async () => { const b = await mysql.createConnection(MYSQL_URL); await b.query(`DROP DATABASE IF EXISTS ${name}`); await b.end(); } };
}

export async function server(conns: Record<string, string>): Promise<{ h: Harness; dir: string }> {
  const dir = tempDir('cmx-rv-bk-');
  const h = await startInProcess(Object.fromEntries(Object.entries(conns).map(([k, url]) => [k, { url }])), { backup_dir: dir });
  return { h, dir };
}
