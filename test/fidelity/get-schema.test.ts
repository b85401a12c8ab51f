/**
 * `get_schema` agrees with the catalog (issue 15): each shared data set is loaded into a
 * fresh database, and what get_schema reports of every table is compared, item by item,
 * with what the engine's own catalog says (test/fidelity/portable.ts reads it directly):
 * the tables, each column's name and position, type (a native type's exact text, including
 * ENUM labels; a portable type's class), nullability, auto-increment, default and comment,
 * the primary key's columns, foreign keys, indexes (`native` exactly when a column list
 * does not say it all: expressions, predicates, other methods, prefixes, descending) and
 * the number of checks. What SPEC §11.3 says get_schema leaves out (views, triggers,
 * routines, partitions, the key's own column order, ON UPDATE, charsets) is not compared.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, freshDatabase, tempDir, type TestBackend } from '../support/backends.js';
import { haveDatasets, loadChinook, loadPagila, loadSakila } from '../support/datasets.js';
import { callTool, startInProcess } from '../support/mcp.js';
import { loadCycles } from './cycles.js';
import { kindOf, portableDb, type PortableTable } from './portable.js';

type Json = Record<string, any>;
type Name = TestBackend['name'];
const dbName = (url: string): string => new URL(url).pathname.slice(1);

const SETS: Array<{ set: string; backend: Name; load(url: string): void | Promise<void> }> = [
  { set: 'pagila', backend: 'postgres', load: (url) => loadPagila(dbName(url)) },
  { set: 'chinook', backend: 'postgres', load: (url) => loadChinook('postgres', dbName(url)) },
  { set: 'chinook', backend: 'mysql', load: (url) => loadChinook('mysql', dbName(url)) },
  { set: 'chinook', backend: 'sqlite', load: (url) => loadChinook('sqlite', url.replace(/^sqlite:\/\//, '')) },
  { set: 'sakila', backend: 'mysql', load: (url) => loadSakila(dbName(url)) },
  ...(['postgres', 'mysql', 'sqlite'] as const).map((backend) => ({ set: 'cycles', backend, load: (url: string) => loadCycles(backend, url) })),
];
const cases = SETS.filter((c) => BACKENDS.some((b) => b.name === c.backend) && (process.env.FIDELITY_SETS ?? c.set).split(',').includes(c.set));

const fkLine = (cols: string[], table: string, refs: string[]): string => `${cols.join(',')} -> ${table}(${refs.join(',')})`;

/** Where get_schema's table and the catalog's differ, one line each. */
export function schemaDifferences(g: Json, c: PortableTable): string[] {
  const out: string[] = [];
  const t = c.name;
  const say = (what: string, got: unknown, want: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${t}: ${what}: get_schema ${JSON.stringify(got)}, catalog ${JSON.stringify(want)}`);
  };
  const cols = g.columns as Json[];
  say('columns', cols.map((x) => x.name), c.columns.filter((x) => !x.extra.includes('generated')).map((x) => x.name));
  for (const col of c.columns) {
    const x = cols.find((y) => y.name === col.name);
    if (!x) continue;
    const w = `column ${col.name}`;
    if (x.type === 'native') say(`${w} native type`, x.native, col.type);
    else say(`${w} type class (${x.type} for ${col.type})`, kindOf(x.type), col.kind);
    say(`${w} nullable`, x.nullable, col.nullable);
    // SPEC §11.2: an identity or sequence column that is not the table's only key reads back without auto_increment,
    // a sequence default (nextval) then as its default; the only key's sequence is auto_increment, not a default.
    const soleKey = c.primaryKey.length === 1 && c.primaryKey[0] === col.name;
    say(`${w} auto_increment`, x.auto_increment, col.auto && soleKey);
    say(`${w} has a default`, x.default !== null, (col.hasDefault && !col.auto) || (Boolean(col.sequenceDefault) && !soleKey));
  }
  say('comments', cols.filter((x) => x.comment).map((x) => `${x.name}: ${x.comment}`).sort(), c.comments);
  say('primary key columns', cols.filter((x) => x.primary_key).map((x) => x.name).sort(), [...c.primaryKey].sort());
  const fks = [
    ...cols.filter((x) => x.references).map((x) => fkLine([x.name], x.references.table, [x.references.column])),
    ...(g.foreign_keys as Json[]).map((f) => fkLine(f.columns, f.references.table, f.references.columns)),
  ].sort();
  say('foreign keys', fks, c.foreignKeys);
  // Indexes: get_schema leaves out the primary key's, one-column unique constraints (the column's `unique`) and MySQL's index of a foreign key.
  const uniqueCols = new Set(cols.filter((x) => x.unique).map((x) => x.name));
  const listed = c.namedIndexes.filter((ix) => !(ix.unique && ix.columns.length === 1 && uniqueCols.has(ix.columns[0]) && ix.plain)
    && !c.foreignKeyNames.includes(ix.name));
  say('indexes', (g.indexes as Json[]).map((ix) => `${ix.name} ${ix.unique ? 'unique ' : ''}${ix.native === undefined ? `(${ix.columns.join(',')})` : 'native'}`).sort(),
    listed.map((ix) => `${ix.name} ${ix.unique ? 'unique ' : ''}${ix.plain ? `(${ix.columns.join(',')})` : 'native'}`).sort());
  say('checks', (g.checks as Json[]).length, c.checks);
  return out;
}

describe.runIf(haveDatasets)('get_schema agrees with the catalog', () => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => { for (const d of drops) await d(); });

  it.each(cases)('$set on $backend', async ({ backend, load }) => {
    const b = BACKENDS.find((x) => x.name === backend)!;
    const db = await freshDatabase(b, 'fid_gs');
    drops.push(db.drop);
    await load(db.url);
    const h = await startInProcess({ src: { url: db.url } }, { backup_dir: tempDir('cmx-fidgs-') });
    const catalog = await portableDb(backend, db.url);
    try {
      const r = await callTool(h.client, 'get_schema', { connection: 'src', limit: 1000 });
      if (!r.ok) throw new Error(`get_schema: ${r.error.code} ${r.error.message}`);
      const tables = (r.data as Json).tables as Json[];
      expect(tables.map((x) => x.table).sort()).toEqual([...catalog.tables.keys()].sort());
      const diffs = tables.flatMap((g) => (catalog.tables.has(g.table) ? schemaDifferences(g, catalog.tables.get(g.table)!) : []));
      expect(diffs).toEqual([]);
    } finally {
      await catalog.close();
      await h.close();
    }
  }, 300_000);
});
