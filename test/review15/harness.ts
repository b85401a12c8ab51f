/**
 * Review of issue 15 (independent, b15-review): shared pieces of the reproductions.
 * Schemas here are written by the reviewer, not taken from the data sets the authors used.
 * Sources are loaded with the engines' own clients (psql / mariadb / better-sqlite3), then
 * everything else goes through the MCP tools, as an agent would call them.
 */
import { execFileSync } from 'node:child_process';
import { MYSQL_URL, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { callTool, startInProcess, type Harness, type ToolOutcome } from '../support/mcp.js';
import { differences, snapshotOf, type Snapshot } from '../fidelity/catalog.js';

export type Json = Record<string, any>;
export const dbName = (url: string): string => new URL(url).pathname.slice(1);

export function psql(url: string, script: string): string {
  return execFileSync('psql', ['-Xq', '-v', 'ON_ERROR_STOP=1', '-At', url], { input: script, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export function mariadb(url: string, script: string): string {
  const u = new URL(url);
  return execFileSync('mariadb', [`-h${u.hostname}`, `-P${u.port || 3306}`, `-u${decodeURIComponent(u.username)}`, '--default-character-set=utf8mb4', '-N', '-B', dbName(url)], { input: script, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export const PG: TestBackend = { name: 'postgres', url: () => process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', sleep: () => '' };
export const MY: TestBackend = { name: 'mysql', url: () => MYSQL_URL, sleep: () => '' };
export const LITE: TestBackend = { name: 'sqlite', url: () => `sqlite://${tempDir('cmx-rev15-')}/db.sqlite`, sleep: () => '' };

export interface RoundTrip {
  h: Harness;
  dir: string;
  src: { url: string; drop(): Promise<void> };
  dst: { url: string; drop(): Promise<void> };
  before?: Snapshot;
  after?: Snapshot;
  backup?: ToolOutcome;
  restore?: ToolOutcome;
  close(): Promise<void>;
}

/** Two fresh databases (src, dst) of the given backends and one in-process server with both. */
export async function pair(from: TestBackend, to: TestBackend, tag: string, extra: Record<string, { url: string; read_only?: boolean }> = {}): Promise<RoundTrip> {
  const src = await freshDatabase(from, `r15${tag}s`);
  const dst = await freshDatabase(to, `r15${tag}d`);
  const dir = tempDir('cmx-rev15-bk-');
  const h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url }, ...extra }, { backup_dir: dir });
  return {
    h, dir, src, dst,
    async close() { await h.close(); await src.drop(); await dst.drop(); },
  };
}

/** create_backup of src then restore_backup into dst; snapshots before and after. */
export async function roundTrip(rt: RoundTrip, from: TestBackend['name'], to: TestBackend['name'], backupArgs: Json = {}, restoreArgs: Json = {}): Promise<void> {
  rt.before = await snapshotOf(from, rt.src.url);
  rt.backup = await callTool(rt.h.client, 'create_backup', { connection: 'src', ...backupArgs });
  if (!rt.backup.ok) return;
  rt.restore = await callTool(rt.h.client, 'restore_backup', { connection: 'dst', backup_path: rt.backup.data.backup, ...restoreArgs });
  rt.after = await snapshotOf(to, rt.dst.url);
}

export const outcome = (o?: ToolOutcome): string => (!o ? 'not run' : o.ok ? 'ok' : `${o.error.code}: ${o.error.message}`);
export { differences, callTool };
