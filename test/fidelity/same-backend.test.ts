/**
 * Same backend, exact: each shared data set is loaded into a fresh database, backed up
 * (portable and native), restored into an empty database of the same backend, and the
 * two catalogs and contents are compared section by section (test/fidelity/catalog.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { haveDatasets, loadChinook, loadPagila, loadSakila } from '../support/datasets.js';
import { callTool, startInProcess } from '../support/mcp.js';
import { differences, snapshotOf } from './catalog.js';

type Json = Record<string, any>;
type Name = TestBackend['name'];
const dbName = (url: string): string => new URL(url).pathname.slice(1);

/** probe: a row inserted without its key on both sides after the restore, then `check` read on both: sequences continue where they were. */
const SETS: Array<{ set: string; backend: Name; load(url: string): void; probe?: { insert: string; check: string } }> = [
  { set: 'chinook', backend: 'sqlite', load: (url) => loadChinook('sqlite', url.replace(/^sqlite:\/\//, '')) },
  { set: 'chinook', backend: 'postgres', load: (url) => loadChinook('postgres', dbName(url)) },
  { set: 'chinook', backend: 'mysql', load: (url) => loadChinook('mysql', dbName(url)) },
  { set: 'pagila', backend: 'postgres', load: (url) => loadPagila(dbName(url)) },
  { set: 'sakila', backend: 'mysql', load: (url) => loadSakila(dbName(url)), probe: { insert: "INSERT INTO actor (first_name, last_name) VALUES ('PROBE', 'ROW')", check: "SELECT actor_id FROM actor WHERE first_name = 'PROBE'" } },
];

/**
 * Portable same-backend restores not exact yet (issue 15: identity kinds, sequence
 * positions, domains and enums on PostgreSQL); they run only with FIDELITY_PENDING=1
 * until they are, so that main stays green meanwhile. Remove a line once its case is exact.
 */
const PENDING = new Set(['chinook/sqlite/portable', 'chinook/postgres/portable', 'pagila/postgres/portable']);
const FORMATS = (process.env.FIDELITY_FORMATS ?? 'portable,native').split(',');
const cases = SETS.flatMap((s) => FORMATS.map((format) => ({ ...s, format })))
  .filter((c) => process.env.FIDELITY_PENDING || !PENDING.has(`${c.set}/${c.backend}/${c.format}`))
  .filter((c) => BACKENDS.some((b) => b.name === c.backend) && (process.env.FIDELITY_SETS ?? c.set).split(',').includes(c.set));

describe.runIf(haveDatasets)('same-backend restores are exact', () => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => { for (const d of drops) await d(); });

  it.each(cases)('$set on $backend, $format', async ({ backend, load, format, probe }) => {
    const b = BACKENDS.find((x) => x.name === backend)!;
    const src = await freshDatabase(b, 'fid_src');
    const dst = await freshDatabase(b, 'fid_dst');
    drops.push(src.drop, dst.drop);
    load(src.url);
    const h = await startInProcess({ src: { url: src.url }, dst: { url: dst.url } }, { backup_dir: tempDir('cmx-fid-') });
    try {
      const before = await snapshotOf(backend, src.url);
      const bk = await callTool(h.client, 'create_backup', { database: 'src', format });
      if (!bk.ok) throw new Error(`create_backup: ${bk.error.code} ${bk.error.message}`);
      const r = await callTool(h.client, 'restore_backup', { database: 'dst', backup_path: (bk.data as Json).backup });
      if (!r.ok) throw new Error(`restore_backup: ${r.error.code} ${r.error.message}`);
      expect((r.data as Json).lossy ?? []).toEqual([]);
      const after = await snapshotOf(backend, dst.url);
      expect(differences(before, after)).toEqual([]);
      if (probe) {
        const ids: unknown[] = [];
        for (const database of ['src', 'dst']) {
          const w = await callTool(h.client, 'execute_query', { connection: database, query: probe.insert });
          if (!w.ok) throw new Error(`${database}: ${w.error.code} ${w.error.message}`);
          const r2 = await callTool(h.client, 'execute_query', { connection: database, query: probe.check });
          if (!r2.ok) throw new Error(`${database}: ${r2.error.code} ${r2.error.message}`);
          ids.push(JSON.stringify((r2.data as Json).rows));
        }
        expect(ids[1]).toBe(ids[0]);
      }
    } finally {
      await h.close();
    }
  }, 300_000);
});
