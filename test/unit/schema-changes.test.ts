import { describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import { applyChanges, changesInput, inverseChanges, isWidening, type Changes } from '../../src/core/schema/changes.js';
import { normalizeTable, parseType, type Table } from '../../src/core/schema/model.js';

function refused(fn: () => unknown, field: string): DbError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('INVALID_INPUT');
    expect((err as DbError).details.field).toBe(field);
    return err as DbError;
  }
  throw new Error('expected INVALID_INPUT');
}

const spec = (t: string) => (t.startsWith('native:') ? parseType('native', t.slice(7)) : parseType(t, undefined));

const users = (): Table => normalizeTable({ table: 'users', columns: [
  { name: 'id', type: 'bigint', primary_key: true, auto_increment: true },
  { name: 'email', type: 'varchar(100)', nullable: false },
  { name: 'age', type: 'integer', default: 0 },
  { name: 'bio', type: 'text' },
  { name: 'score', type: 'decimal(10,2)', default: '1.5' },
], indexes: [{ columns: ['email'], unique: true }, { columns: ['age', 'bio'] }] });

const apply = (ch: Changes, t = users()) => applyChanges(t, changesInput.parse(ch));
const names = (t: Table) => t.columns.map((c) => c.name);

describe('isWidening', () => {
  it.each([
    ['smallint', 'integer', true], ['integer', 'bigint', true], ['smallint', 'bigint', true], ['bigint', 'integer', false],
    ['integer', 'smallint', false], ['integer', 'decimal(10,0)', true], ['integer', 'decimal(9,0)', false],
    ['integer', 'decimal(12,2)', true], ['integer', 'decimal(11,2)', false], ['bigint', 'decimal(19,0)', true], ['smallint', 'decimal(5,0)', true],
    ['bigint', 'double', false], ['integer', 'double', true], ['smallint', 'real', true], ['integer', 'real', false],
    ['real', 'double', true], ['double', 'real', false], ['integer', 'text', true], ['boolean', 'integer', false],
    ['decimal(10,2)', 'decimal(12,4)', true], ['decimal(10,2)', 'decimal(10,3)', false], ['decimal(10,2)', 'decimal(10,1)', false],
    ['decimal(10,2)', 'double', false],
    ['varchar(10)', 'varchar(20)', true], ['varchar(20)', 'text', true], ['varchar(20)', 'varchar(10)', false],
    ['char(5)', 'varchar(5)', true], ['varchar(5)', 'char(5)', false], ['text', 'varchar(100)', false],
    ['uuid', 'varchar(36)', true], ['uuid', 'char(36)', true], ['uuid', 'varchar(35)', false], ['uuid', 'text', true],
    ['date', 'timestamp', true], ['date', 'timestamptz', true], ['timestamp', 'timestamptz', true],
    ['timestamptz', 'timestamp', false], ['time', 'timestamp', false], ['timestamp', 'date', false],
    ['binary', 'text', false], ['json', 'text', true], ['text', 'json', false], ['text', 'text', true],
    ['native:tsvector', 'text', false], ['native:tsvector', 'native:tsvector', true], ['native:tsvector', 'native:citext', false],
    ['integer', 'native:int unsigned', false],
  ])('%s -> %s: %s', (from, to, want) => {
    expect(isWidening(spec(from), spec(to))).toBe(want);
  });
});

describe('applyChanges', () => {
  it('leaves the input table alone', () => {
    const t = users();
    const before = JSON.stringify(t);
    applyChanges(t, { rename_columns: [{ from: 'email', to: 'mail' }], drop_columns: ['bio'], alter_columns: [{ name: 'age', nullable: false }] });
    expect(JSON.stringify(t)).toBe(before);
  });

  it('renames before altering: alter_columns uses the new name, indexes follow', () => {
    const ap = apply({ rename_columns: [{ from: 'email', to: 'mail' }], alter_columns: [{ name: 'mail', type: 'varchar(50)' }] });
    expect(names(ap.next)).toEqual(['id', 'mail', 'age', 'bio', 'score']);
    expect(ap.next.columns[1]).toMatchObject({ name: 'mail', type: 'varchar(50)', nullable: false });
    expect(ap.next.indexes.find((i) => i.name === 'users_email_idx')?.columns).toEqual(['mail']);
    expect(ap.origin.get('mail')).toBe('email');
    expect([...ap.altered]).toEqual(['mail']);
    expect(ap.losses).toEqual(['change "mail" from varchar(100) to varchar(50), which may not hold every value']);
    refused(() => apply({ rename_columns: [{ from: 'email', to: 'mail' }], alter_columns: [{ name: 'email', nullable: true }] }), 'changes.alter_columns.0.name');
  });

  it('drops after renaming: drop_columns uses the new name and takes the indexes holding the column', () => {
    const ap = apply({ rename_columns: [{ from: 'bio', to: 'about' }], drop_columns: ['about'] });
    expect(names(ap.next)).toEqual(['id', 'email', 'age', 'score']);
    expect(ap.droppedColumns).toEqual([{ now: 'about', was: 'bio' }]);
    expect(ap.droppedIndexes.map((i) => i.name)).toEqual(['users_age_bio_idx']);
    expect(ap.next.indexes.map((i) => i.name)).toEqual(['users_email_idx']);
    expect(ap.losses).toEqual(['drop column "about" and its values']);
    expect(ap.origin.has('about')).toBe(false);
    refused(() => apply({ rename_columns: [{ from: 'bio', to: 'about' }], drop_columns: ['bio'] }), 'changes.drop_columns.0');
  });

  it('drops indexes by name, before renames', () => {
    const ap = apply({ drop_indexes: ['users_email_idx'], rename_columns: [{ from: 'email', to: 'e' }] });
    expect(ap.droppedIndexes).toEqual([{ name: 'users_email_idx', columns: ['email'], unique: true }]);
    expect(ap.next.indexes.map((i) => i.name)).toEqual(['users_age_bio_idx']);
    expect(ap.losses).toEqual([]);
  });

  it('alters type, nullability and default, and lists narrowing as a loss', () => {
    const ap = apply({ alter_columns: [{ name: 'age', type: 'bigint', nullable: false, default: null }, { name: 'score', default: 2 }, { name: 'email', type: 'native', native: 'citext' }] });
    expect(ap.next.columns[2]).toMatchObject({ name: 'age', type: 'bigint', nullable: false, default: null });
    expect(ap.next.columns[4].default).toBe('2.00');
    expect(ap.next.columns[1]).toMatchObject({ type: 'native', native: 'citext' });
    expect(ap.losses).toEqual(['change "email" from varchar(100) to citext, which may not hold every value']);
    expect([...ap.altered].sort()).toEqual(['age', 'email', 'score']);
    const back = apply({ alter_columns: [{ name: 'email', type: 'text' }] }, ap.next);
    expect(back.next.columns[1]).not.toHaveProperty('native');
    expect(back.losses).toEqual(['change "email" from citext to text, which may not hold every value']);
  });

  it('keeps the column rules when altering', () => {
    refused(() => apply({ alter_columns: [{ name: 'id', nullable: true }] }), 'changes.alter_columns.0.nullable');
    refused(() => apply({ alter_columns: [{ name: 'id', type: 'text' }] }), 'changes.alter_columns.0.type');
    refused(() => apply({ alter_columns: [{ name: 'id', default: 5 }] }), 'changes.alter_columns.0.default');
    refused(() => apply({ alter_columns: [{ name: 'age', default: 'x' }] }), 'changes.alter_columns.0.default');
    refused(() => apply({ alter_columns: [{ name: 'bio', type: 'money' }] }), 'changes.alter_columns.0.type');
    expect(apply({ alter_columns: [{ name: 'id', type: 'integer' }] }).losses).toHaveLength(1);
  });

  it('adds columns and indexes, named after the new table name', () => {
    const ap = apply({ add_columns: [{ name: 'k', type: 'int', unique: true, default: 3 }], add_indexes: [{ columns: ['k'] }, { columns: ['bio'] }], rename_to: 'people' });
    expect(ap.next.table).toBe('people');
    expect(ap.next.columns[5]).toEqual({ name: 'k', type: 'integer', nullable: true, primary_key: false, auto_increment: false, unique: true, default: 3 });
    expect(ap.next.indexes.map((i) => i.name)).toEqual(['people_bio_idx', 'people_k_idx', 'users_age_bio_idx', 'users_email_idx']);
    expect(ap.origin.has('k')).toBe(false);
  });

  it('refuses unknown names and clashes with INVALID_INPUT and the field path', () => {
    refused(() => apply({ drop_indexes: ['nope'] }), 'changes.drop_indexes.0');
    refused(() => apply({ rename_columns: [{ from: 'x', to: 'y' }] }), 'changes.rename_columns.0.from');
    refused(() => apply({ rename_columns: [{ from: 'age', to: 'BIO' }] }), 'changes.rename_columns.0.to');
    refused(() => apply({ drop_columns: ['bio', 'nope'] }), 'changes.drop_columns.1');
    refused(() => apply({ drop_columns: ['id', 'email', 'age', 'bio', 'score'] }), 'changes.drop_columns');
    refused(() => apply({ alter_columns: [{ name: 'zz', nullable: true }] }), 'changes.alter_columns.0.name');
    refused(() => apply({ add_columns: [{ name: 'x', type: 'int' }, { name: 'Email', type: 'text' }] }), 'changes.add_columns.1.name');
    refused(() => apply({ add_columns: [{ name: 'k', type: 'int', primary_key: true }] }), 'changes.add_columns.0.primary_key');
    refused(() => apply({ add_indexes: [{ columns: ['nope'] }] }), 'changes.add_indexes.0.columns');
    refused(() => apply({ add_indexes: [{ columns: ['email'] }] }), 'changes.add_indexes');
    expect(apply({ rename_columns: [{ from: 'age', to: 'AGE' }] }).next.columns[2].name).toBe('AGE');
    expect(changesInput.safeParse({}).success).toBe(false);
    expect(changesInput.safeParse({ drop_columns: [] }).success).toBe(false);
  });

  it('adds a primary key to a table without one', () => {
    const t = normalizeTable({ table: 't', columns: [{ name: 'a', type: 'text' }] });
    const ap = applyChanges(t, { add_columns: [{ name: 'id', type: 'int', primary_key: true, auto_increment: true }] });
    expect(ap.next.columns[1]).toMatchObject({ primary_key: true, auto_increment: true, nullable: false });
  });

  // Regression (found in review): several key columns added at once form a composite key: none may be auto_increment.
  it('refuses auto_increment on one of several primary key columns added together', () => {
    const t = normalizeTable({ table: 't', columns: [{ name: 'a', type: 'text' }] });
    expect(() => applyChanges(t, { add_columns: [{ name: 'id', type: 'int', primary_key: true, auto_increment: true }, { name: 'k', type: 'int', primary_key: true }] })).toThrow(DbError);
  });

  // Regression (found in review): index names clash case-insensitively (MySQL compares them so).
  it('refuses an added index whose name differs from an existing one only in case', () => {
    refused(() => apply({ add_indexes: [{ name: 'USERS_EMAIL_IDX', columns: ['bio'] }] }), 'changes.add_indexes');
  });

  // Regression (found in review): a kept default is re-typed for the new type, or refused when it does not suit it.
  it('re-types the kept default when the type changes', () => {
    expect(apply({ alter_columns: [{ name: 'score', type: 'decimal(10,3)' }] }).next.columns[4].default).toBe('1.500');
  });
});

describe('inverseChanges', () => {
  const shape = (t: Table) => ({
    table: t.table,
    columns: Object.fromEntries(t.columns.map((c) => [c.name, { type: c.type, native: c.native, nullable: c.nullable, default: c.default, primary_key: c.primary_key }])),
    indexes: t.indexes,
  });
  const roundTrip = (ch: Changes) => {
    const before = users();
    const ap = applyChanges(before, changesInput.parse(ch));
    const steps = inverseChanges(before, ap, ch).map((step) => changesInput.parse(step));
    const back = steps.reduce((t, step) => applyChanges(t, step).next, ap.next);
    // Every kind of change appears in at most one step.
    const inv: Changes = Object.assign({}, ...steps);
    return { before, inv, back };
  };

  it('undoes a mixed change set', () => {
    const { before, inv, back } = roundTrip({
      drop_indexes: ['users_email_idx'], rename_columns: [{ from: 'email', to: 'mail' }], drop_columns: ['bio'],
      alter_columns: [{ name: 'mail', type: 'text', nullable: true }, { name: 'age', type: 'bigint', default: 7 }, { name: 'score', default: null }],
      add_columns: [{ name: 'nick', type: 'varchar(20)' }], add_indexes: [{ columns: ['nick'] }], rename_to: 'people',
    });
    expect(inv).toMatchObject({
      drop_indexes: ['people_nick_idx'], drop_columns: ['nick'], rename_columns: [{ from: 'mail', to: 'email' }], rename_to: 'users',
    });
    expect(inv.add_columns?.map((c) => c.name)).toEqual(['bio']);
    expect(shape(back)).toEqual(shape(before));
  });

  it('undoes a native type change and a plain rename', () => {
    const { before, back } = roundTrip({ rename_columns: [{ from: 'age', to: 'years' }], alter_columns: [{ name: 'email', type: 'native', native: 'citext' }] });
    expect(shape(back)).toEqual(shape(before));
  });

  // An index dropped with a column that was renamed first comes back on the column's old name.
  it('restores an index on a column that was renamed then dropped', () => {
    const { before, back } = roundTrip({ rename_columns: [{ from: 'bio', to: 'about' }], drop_columns: ['about'] });
    expect(shape(back)).toEqual(shape(before));
  });

  // The inverse steps run in reverse order: the added bio is dropped before about is renamed back.
  it('undoes a rename whose old name is reused by an added column', () => {
    const { before, back } = roundTrip({ rename_columns: [{ from: 'bio', to: 'about' }], add_columns: [{ name: 'bio', type: 'int' }] });
    expect(shape(back)).toEqual(shape(before));
  });
});
