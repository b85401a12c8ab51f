/**
 * The check a restore makes of a backup's native_ddl (native-ddl-check.ts, an allow-list
 * of what pg_dump writes) takes what pg_dump writes for real schemas: Pagila, Chinook and
 * the review's SaaS schema (partitions, shared sequences, policies, functions their
 * defaults and triggers use), backed up whole and as named tables (whose DDL adds the
 * functions they use, each created only where missing). A refusal here would be a false
 * BACKUP_CORRUPT on a real database.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNativeDdl } from '../../src/core/backends/postgres/native-ddl-check.js';
import { psql } from '../review15/harness.js';
import { SAAS_SQL } from '../review15/pg-saas-schema.js';
import { BACKENDS, freshDatabase, tempDir } from '../support/backends.js';
import { haveDatasets, loadChinook, loadPagila } from '../support/datasets.js';
import { mustCall, rowsOf, startInProcess, type Harness } from '../support/mcp.js';

type Json = Record<string, any>;
const pg = BACKENDS.find((b) => b.name === 'postgres');
const dbName = (url: string): string => new URL(url).pathname.slice(1);

/** `named`: what the named tables' DDL must hold, so that the check is not vacuous (functions created where missing, partitions, shared sequences, policies). */
const SETS: Array<{ set: string; load(url: string): void; named: RegExp[] }> = [
  { set: 'pagila', load: (url) => loadPagila(dbName(url)), named: [/^DO \$cmx\$/m, /ATTACH PARTITION/] },
  { set: 'chinook', load: (url) => loadChinook('postgres', dbName(url)), named: [/CREATE TABLE/] },
  { set: 'saas', load: (url) => { psql(url, SAAS_SQL); }, named: [/^DO \$cmx\$/m, /ATTACH PARTITION/, /OWNED BY/, /CREATE POLICY/] },
];

describe.runIf(pg && haveDatasets)('the native_ddl check takes what pg_dump writes for real schemas', () => {
  const drops: Array<() => Promise<void>> = [];
  const dir = tempDir('cmx-pgddlck-');
  let h: Harness;
  const urls: Record<string, { url: string }> = {};

  beforeAll(async () => {
    for (const s of SETS) {
      const db = await freshDatabase(pg!, `ddlck_${s.set}`);
      drops.push(db.drop);
      s.load(db.url);
      urls[s.set] = { url: db.url };
    }
    h = await startInProcess(urls, { backup_dir: dir });
  }, 300_000);

  afterAll(async () => {
    await h?.close();
    for (const d of drops) await d();
    rmSync(dir, { recursive: true, force: true });
  });

  const header = (file: string): Json => JSON.parse(execFileSync('bash', ['-c', `gzip -dc '${dir}/${file}' | head -1`], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Json;

  it.each(SETS)('$set: whole database and every table by name', async ({ set, named }) => {
    await mustCall(h.client, 'create_backup', { connection: set, output_path: `${set}-whole.cmx.gz` });
    const tables = rowsOf(await mustCall(h.client, 'execute_query', {
      connection: set,
      query: "SELECT format('%s.%s', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'codomyrmex') ORDER BY 1",
    })).map((r) => String(r.name));
    expect(tables.length).toBeGreaterThan(3);
    await mustCall(h.client, 'create_backup', { connection: set, tables, output_path: `${set}-named.cmx.gz` });
    for (const [file, tablesOnly] of [[`${set}-whole.cmx.gz`, false], [`${set}-named.cmx.gz`, true]] as const) {
      const ddl = header(file).native_ddl;
      expect({ file, tables_only: ddl.tables_only ?? false }).toEqual({ file, tables_only: tablesOnly });
      if (tablesOnly) for (const re of named) expect({ file, re: String(re), has: re.test(`${ddl.before_data}\n${ddl.after_data}`) }).toEqual({ file, re: String(re), has: true });
      await checkNativeDdl(ddl);
    }
  }, 300_000);
});
