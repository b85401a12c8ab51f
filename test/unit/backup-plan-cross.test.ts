/**
 * The cross-backend restore plan (issue 15, "Across backends: honest"), pure: what each
 * target gets for the types, keys and names of another backend, and what it lists as lossy.
 */
import { describe, expect, it } from 'vitest';
import { backendModule, type Backend } from '../../src/core/backends/lookup.js';
import { FORMAT_NAME, FORMAT_VERSION, type Header, type TableEntry } from '../../src/core/backup/format.js';
import { planRestore } from '../../src/core/backup/plan.js';
import { normalizeTable, type Table, type TableInput } from '../../src/core/schema/model.js';

const entry = (input: TableInput, extra: Partial<TableEntry> = {}): TableEntry => {
  const definition: Table = normalizeTable(input);
  return { name: input.table, definition, columns: [], order_by: [], sequence: null, ...extra };
};
/** As introspection reads it: a native column can be an auto-increment key (normalisation refuses one from input). */
const asNative = (e: TableEntry, column: string, native: string): TableEntry => {
  Object.assign(e.definition.columns.find((c) => c.name === column)!, { type: 'native', native });
  return e;
};
const header = (backend: Backend, tables: TableEntry[]): Header => ({
  format: FORMAT_NAME, version: FORMAT_VERSION, created_at: '2026-01-01T00:00:00Z',
  source: { connection: 'src', backend, server_version: '1', flavor: null, database: 'src' } as Header['source'], tables,
});
const plan = (from: Backend, into: Backend, tables: TableEntry[]) => {
  const m = backendModule(into);
  return planRestore(header(from, tables), m.schema.flavor(), m);
};
const column = (p: ReturnType<typeof plan>, table: string, name: string) => p.tables.find((t) => t.table.table === table)!.table.columns.find((c) => c.name === name)!;

describe('cross-backend restore plans', () => {
  it('SQLite INTEGER PRIMARY KEY (a bigint) makes the columns referencing it bigint too: MariaDB refuses a key of another type', () => {
    const p = plan('sqlite', 'mysql', [
      entry({ table: 'Artist', columns: [{ name: 'ArtistId', type: 'bigint', primary_key: true, auto_increment: true }] }),
      entry({ table: 'Album', columns: [{ name: 'AlbumId', type: 'bigint', primary_key: true, auto_increment: true }, { name: 'ArtistId', type: 'integer', references: { table: 'Artist', column: 'ArtistId' } }] }),
    ]);
    expect(column(p, 'Album', 'ArtistId').type).toBe('bigint');
    expect(p.tables[1].create).toMatch(/`ArtistId` BIGINT/i);
    expect(p.lossy).toEqual([]);
    // The other way too: a bigint column referencing an integer key becomes integer (its values are the key's).
    const q = plan('postgres', 'mysql', [
      entry({ table: 'p', columns: [{ name: 'id', type: 'integer', primary_key: true }] }),
      entry({ table: 'c', columns: [{ name: 'p_id', type: 'bigint', references: { table: 'p', column: 'id' } }] }),
    ]);
    expect(column(q, 'c', 'p_id').type).toBe('integer');
  });

  it('SQLite NVARCHAR(n) is varchar(n) elsewhere, and nothing is listed (SQLite only ever held text)', () => {
    const p = plan('sqlite', 'postgres', [entry({ table: 't', columns: [{ name: 'a', type: 'native', native: 'NVARCHAR(40)' }, { name: 'b', type: 'native', native: 'NCHAR' }] })]);
    expect([column(p, 't', 'a').type, column(p, 't', 'b').type]).toEqual(['varchar(40)', 'text']);
    expect(p.lossy).toEqual([]);
  });

  it('MySQL unsigned integers widen so an identity stays an integer; bigint unsigned loses its identity, listed', () => {
    const p = plan('mysql', 'postgres', [asNative(entry({ table: 'actor', columns: [
      { name: 'id', type: 'integer', primary_key: true, auto_increment: true },
      { name: 'n', type: 'native', native: 'int(10) unsigned' },
      { name: 'y', type: 'native', native: 'year(4)' },
    ] }), 'id', 'smallint(5) unsigned'), asNative(entry({ table: 'huge', columns: [{ name: 'id', type: 'integer', primary_key: true, auto_increment: true }] }), 'id', 'bigint(20) unsigned')]);
    expect(column(p, 'actor', 'id')).toMatchObject({ type: 'integer', auto_increment: true });
    expect([column(p, 'actor', 'n').type, column(p, 'actor', 'y').type]).toEqual(['bigint', 'smallint']);
    expect(column(p, 'huge', 'id')).toMatchObject({ type: 'decimal(20,0)', auto_increment: false });
    expect(p.lossy.map((l) => `${l.table}.${l.column}`)).toEqual(['actor.id', 'actor.n', 'actor.y', 'huge.id', 'huge.id']);
    expect(p.lossy[4].what).toMatch(/auto-increment dropped/);
    expect(p.tables[0].create).toMatch(/GENERATED .* AS IDENTITY/i);
  });

  it('a native type with no stand-in becomes text without an identity, both listed; a text key MySQL cannot index fails the plan', () => {
    const t = () => [asNative(entry({ table: 't', columns: [{ name: 'id', type: 'integer', primary_key: true, auto_increment: true }] }), 'id', 'mytype')];
    const p = plan('mysql', 'postgres', t());
    expect(column(p, 't', 'id')).toMatchObject({ type: 'text', auto_increment: false });
    expect(p.lossy.map((l) => l.what)).toEqual([expect.stringMatching(/no portable form/), expect.stringMatching(/auto-increment dropped/)]);
    expect(() => plan('postgres', 'mysql', t())).toThrow(/table "t" cannot be created on mysql/);
  });

  it('index names used by several tables are renamed <table>_<name> on SQLite and PostgreSQL, kept on MySQL', () => {
    const tables = () => ['a', 'b'].map((t) => entry({ table: t, columns: [{ name: 'x', type: 'integer' }], indexes: [{ name: 'idx_x', columns: ['x'] }] }));
    for (const into of ['sqlite', 'postgres'] as const) {
      const p = plan('mysql', into, tables());
      expect(p.tables.map((t) => t.table.indexes[0].name)).toEqual(['a_idx_x', 'b_idx_x']);
      expect(p.lossy).toEqual([{ table: 'a', what: expect.stringMatching(/idx_x restored as a_idx_x/) }, { table: 'b', what: expect.stringMatching(/idx_x restored as b_idx_x/) }]);
    }
    const mysql = plan('sqlite', 'mysql', tables());
    expect(mysql.tables.map((t) => t.table.indexes[0].name)).toEqual(['idx_x', 'idx_x']);
  });

  it('foreign key names used twice are renamed on MySQL (names per database there), kept elsewhere', () => {
    const tables = () => [
      entry({ table: 'p', columns: [{ name: 'id', type: 'integer', primary_key: true }] }),
      ...['a', 'b'].map((t) => entry({ table: t, columns: [{ name: 'p_id', type: 'integer', references: { table: 'p', column: 'id' } }] })),
    ];
    const named = () => tables().map((e) => { const r = e.definition.columns.find((c) => c.references)?.references; if (r) r.name = 'fk_parent'; return e; });
    const my = plan('postgres', 'mysql', named());
    expect(my.tables.slice(1).map((t) => t.table.columns[0].references!.name)).toEqual(['a_fk_parent', 'b_fk_parent']);
    expect(my.tables[1].create).toContain('CONSTRAINT `a_fk_parent` FOREIGN KEY');
    expect(my.lossy.map((l) => l.what)).toEqual([expect.stringMatching(/^foreign key fk_parent restored as a_fk_parent/), expect.stringMatching(/as b_fk_parent/)]);
    expect(plan('postgres', 'sqlite', named()).lossy).toEqual([]);
    expect(plan('postgres', 'mysql', tables()).lossy).toEqual([]);
  });

  it('a column holding values its declared type does not (SQLite) becomes text across backends, listed; the same backend keeps it', () => {
    const e = entry({ table: 'item', columns: [{ name: 'qty', type: 'integer' }, { name: 'n', type: 'integer' }] }, { mixed: ['qty'] });
    const p = plan('sqlite', 'postgres', [e]);
    expect(p.lossy).toEqual([{ table: 'item', column: 'qty', what: 'integer column holds values its type does not (text or bytes, too large or too long, more decimals than its scale, dates not written YYYY-MM-DD…): restored as text (bytes as base64)' }]);
    expect(p.tables[0].table.columns.map((c) => c.type)).toEqual(['text', 'integer']);
    expect(p.tables[0].writers[0]?.(7)).toBe('7');
    expect(plan('sqlite', 'sqlite', [e]).lossy).toEqual([]);
  });

  it('ON UPDATE and a collation recorded in the header are listed across backends, a character set is not; the same backend lists them only without its DDL', () => {
    const e = entry({ table: 't', columns: [{ name: 'at', type: 'timestamptz' }, { name: 's', type: 'varchar(10)' }] }, { unportable: { at: ['on update current_timestamp()'], s: ['character set utf8mb3', 'collation utf8mb3_bin'] } });
    expect(plan('mysql', 'postgres', [e]).lossy).toEqual([
      { table: 't', column: 'at', what: 'on update current_timestamp() is not carried across backends' },
      { table: 't', column: 's', what: 'collation utf8mb3_bin is not carried across backends' },
    ]);
    // The same backend from the portable schema alone (no `ddl` in the entry): all are lost there, and listed.
    expect(plan('mysql', 'mysql', [e]).lossy.map((l) => l.column)).toEqual(['at', 's']);
    expect(plan('mysql', 'mysql', [{ ...e, ddl: ['CREATE TABLE t (at timestamp, s varchar(10))'] }]).lossy).toEqual([]);
  });

  it('PostgreSQL table features recorded in the header are listed where the portable schema is all a restore has', () => {
    const e = entry({ table: 'ev', columns: [{ name: 'id', type: 'bigint' }] }, { unportable: { id: ['generated always as identity'] }, table_unportable: ['partition by RANGE (at)'] });
    expect(plan('postgres', 'sqlite', [e]).lossy).toEqual([
      { table: 'ev', column: 'id', what: 'generated always as identity is not carried across backends' },
      { table: 'ev', what: 'partition by RANGE (at): not carried across backends' },
    ]);
    expect(plan('postgres', 'postgres', [e]).lossy.map((l) => l.column ?? '*')).toEqual(['id', '*']);
  });

  it('PostgreSQL identity options: carried by a same-backend restore from the portable schema, listed across backends; a serial only on the same backend', () => {
    const serial = 'serial (sequence a_id_seq owned by the column behind its nextval default, not an identity)';
    const e = entry({ table: 'a', columns: [{ name: 'id', type: 'integer', primary_key: true, auto_increment: true }] },
      { unportable: { id: [serial, 'sequence START WITH 10001 INCREMENT BY 3'] } });
    const same = plan('postgres', 'postgres', [e]);
    expect(same.lossy.map((l) => l.what)).toEqual([`${serial} is not carried by the portable schema (this backup carries no DDL of its own for it)`]);
    expect(same.tables[0].after).toContain('ALTER TABLE "a" ALTER COLUMN "id" SET INCREMENT BY 3 SET MINVALUE 1 SET MAXVALUE 2147483647 SET START WITH 10001 SET CACHE 1 SET NO CYCLE RESTART');
    // Another backend's auto-increment is the same for a serial and an identity: only the options are lost.
    expect(plan('postgres', 'mysql', [e]).lossy.map((l) => l.what)).toEqual(['sequence START WITH 10001 INCREMENT BY 3 is not carried across backends']);
    // A column the target does not make an identity (not the only key) keeps the options listed, with nothing to set.
    const plain = entry({ table: 'b', columns: [{ name: 'id', type: 'integer' }] }, { unportable: { id: ['sequence INCREMENT BY 3'] } });
    expect(plan('postgres', 'postgres', [plain]).lossy.map((l) => l.what)).toEqual(['sequence INCREMENT BY 3 is not carried by the portable schema (this backup carries no DDL of its own for it)']);
    expect(plan('postgres', 'postgres', [plain]).tables[0].after.join('\n')).not.toMatch(/INCREMENT/);
  });
});

describe('keys the target cannot index', () => {
  it('an index or unique key over a column that became text on MySQL is left out and listed; the rest restores', () => {
    const e = entry({ table: 'u', columns: [{ name: 'id', type: 'integer', primary_key: true }, { name: 'email', type: 'native', native: 'citext', unique: true }, { name: 'n', type: 'integer' }],
      indexes: [{ name: 'u_email_n', columns: ['n', 'email'], unique: true }, { name: 'u_n', columns: ['n'], unique: false }] });
    const p = plan('postgres', 'mysql', [e]);
    expect(p.tables[0].table.indexes.map((ix) => ix.name)).toEqual(['u_n']);
    expect(column(p, 'u', 'email').unique).toBe(false);
    expect(p.lossy.filter((l) => /dropped/.test(l.what)).map((l) => `${l.column}: ${l.what.split(':')[0]}`)).toEqual(['email: unique key dropped', 'email: index u_email_n dropped']);
  });
});
