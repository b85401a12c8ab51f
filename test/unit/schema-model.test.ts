import { describe, expect, it } from 'vitest';
import { DbError } from '../../src/errors.js';
import {
  canonicalDecimal, constraintName, formatType, normalizeTable, parseType, tableInput, type TableInput, type TypeSpec,
} from '../../src/core/schema/model.js';

/** Runs fn, expects INVALID_INPUT, returns the error (optionally checking details.field). */
function refused(fn: () => unknown, field?: string): DbError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('INVALID_INPUT');
    if (field !== undefined) expect((err as DbError).details.field).toBe(field);
    return err as DbError;
  }
  throw new Error('expected INVALID_INPUT');
}

const table = (columns: TableInput['columns'], more: Partial<TableInput> = {}): TableInput => ({ table: 't', columns, ...more });

describe('parseType', () => {
  it.each<[string, TypeSpec]>([
    ['integer', { kind: 'integer' }], ['bigint', { kind: 'bigint' }], ['smallint', { kind: 'smallint' }],
    ['decimal(10,2)', { kind: 'decimal', precision: 10, scale: 2 }], ['real', { kind: 'real' }], ['double', { kind: 'double' }],
    ['boolean', { kind: 'boolean' }], ['text', { kind: 'text' }], ['varchar(20)', { kind: 'varchar', length: 20 }],
    ['char(3)', { kind: 'char', length: 3 }], ['date', { kind: 'date' }], ['time', { kind: 'time' }],
    ['timestamp', { kind: 'timestamp' }], ['timestamptz', { kind: 'timestamptz' }], ['uuid', { kind: 'uuid' }],
    ['json', { kind: 'json' }], ['binary', { kind: 'binary' }],
  ])('reads the portable kind %s', (text, spec) => {
    expect(parseType(text, undefined)).toEqual(spec);
    expect(formatType(spec)).toBe(text);
  });

  it.each<[string, TypeSpec]>([
    ['int', { kind: 'integer' }], ['bool', { kind: 'boolean' }], ['numeric(10,2)', { kind: 'decimal', precision: 10, scale: 2 }],
    ['float', { kind: 'double' }], ['double precision', { kind: 'double' }],
    ['datetime', { kind: 'timestamp' }], ['timestamp with time zone', { kind: 'timestamptz' }],
    ['timestamp without time zone', { kind: 'timestamp' }], ['string', { kind: 'text' }], ['bytea', { kind: 'binary' }],
    ['blob', { kind: 'binary' }], ['jsonb', { kind: 'json' }], ['character varying(20)', { kind: 'varchar', length: 20 }],
    ['character(3)', { kind: 'char', length: 3 }],
    // case and spacing
    ['INT', { kind: 'integer' }], ['  Character   Varying (20) ', { kind: 'varchar', length: 20 }],
    ['DECIMAL( 10 , 2 )', { kind: 'decimal', precision: 10, scale: 2 }], ['Double\tPrecision', { kind: 'double' }],
  ])('reads the alias %j', (text, spec) => {
    expect(parseType(text, undefined)).toEqual(spec);
  });

  // Regression (found in review): aliases with digits (int4, float8) parse.
  it('reads the aliases that contain digits (int2, int4, int8, float4, float8)', () => {
    expect(parseType('int2', undefined)).toEqual({ kind: 'smallint' });
    expect(parseType('int4', undefined)).toEqual({ kind: 'integer' });
    expect(parseType('int8', undefined)).toEqual({ kind: 'bigint' });
    expect(parseType('float4', undefined)).toEqual({ kind: 'real' });
    expect(parseType('FLOAT8', undefined)).toEqual({ kind: 'double' });
  });

  it('accepts sizes at their bounds and defaults the decimal scale to 0', () => {
    expect(parseType('decimal(1,0)', undefined)).toEqual({ kind: 'decimal', precision: 1, scale: 0 });
    expect(parseType('decimal(65,30)', undefined)).toEqual({ kind: 'decimal', precision: 65, scale: 30 });
    expect(parseType('decimal(5,5)', undefined)).toEqual({ kind: 'decimal', precision: 5, scale: 5 });
    expect(parseType('decimal(10)', undefined)).toEqual({ kind: 'decimal', precision: 10, scale: 0 });
    expect(parseType('varchar(1)', undefined)).toEqual({ kind: 'varchar', length: 1 });
    expect(parseType('varchar(16383)', undefined)).toEqual({ kind: 'varchar', length: 16383 });
    expect(parseType('char(1)', undefined)).toEqual({ kind: 'char', length: 1 });
    expect(parseType('char(255)', undefined)).toEqual({ kind: 'char', length: 255 });
  });

  it.each([
    'decimal', 'numeric', 'decimal(0,0)', 'decimal(66,0)', 'decimal(5,6)', 'decimal(40,31)', // precision / scale
    'varchar', 'varchar(0)', 'varchar(16384)', 'varchar(5,2)', 'char', 'character', 'char(0)', 'char(256)', // lengths
    'integer(11)', 'text(5)', 'boolean(1)', 'timestamp(6)', 'uuid(36)', // sizes on kinds that take none
    'money', 'int unsigned', 'varchar2(10)', 'decimal(-1,0)', 'varchar(10', 'text[]', '', // unknown
  ])('refuses %j', (text) => {
    refused(() => parseType(text, undefined, 'schema.columns.0.type'), 'schema.columns.0.type');
  });

  it('takes a native type only with a safe `native` text', () => {
    for (const n of ['tsvector', 'int unsigned', 'numeric(10, 2)', 'text[]', 'character varying(20)[]', 'double precision']) {
      expect(parseType('native', n)).toEqual({ kind: 'native', native: n });
    }
    expect(parseType(' NATIVE ', '  citext ')).toEqual({ kind: 'native', native: 'citext' });
    expect(formatType({ kind: 'native', native: 'citext' })).toBe('native');
    for (const n of [undefined, '', '   ', 'int); DROP TABLE x; --', 'a;b', 'x -- y', 'x /* y */', "enum('a','b')", 'int\nunsigned', '1abc', 'text[', 'a"b', 'numeric(10,2)(3)']) {
      refused(() => parseType('native', n), 'type');
    }
  });
});

describe('canonicalDecimal', () => {
  it.each([
    ['12.5', 2, '12.50'], ['-0.0', 2, '0.00'], ['-0', 0, '0'], ['007', 0, '7'], ['007', 2, '7.00'], ['-007.50', 2, '-7.50'],
    ['0.10', 2, '0.10'], ['-12', 2, '-12.00'], ['1.', 2, '1.00'], ['12.50', 0, '12.50'],
    ['1.234', 2, '1.234'], ['12.5', 0, '12.5'], // too many fractional digits: unchanged
    ['1e5', 2, '1e5'], ['1.5E-3', 4, '1.5E-3'], ['abc', 2, 'abc'], ['+1', 2, '+1'], ['.5', 2, '.5'], // other spellings unchanged
  ] as const)('%j at scale %i -> %j', (text, scale, want) => {
    expect(canonicalDecimal(text, scale)).toBe(want);
  });
});

describe('constraintName', () => {
  it('follows PostgreSQL naming when short', () => {
    expect(constraintName('users', [], 'pkey')).toBe('users_pkey');
    expect(constraintName('users', ['email'], 'key')).toBe('users_email_key');
    expect(constraintName('users', ['a', 'b'], 'idx')).toBe('users_a_b_idx');
    expect(constraintName('orders', ['user_id'], 'fkey')).toBe('orders_user_id_fkey');
  });

  it('shortens long names with a stable hash, different inputs giving different names', () => {
    const long = 'a'.repeat(60);
    const one = constraintName(long, ['b', 'c'], 'idx');
    expect(one).toBe(constraintName(long, ['b', 'c'], 'idx'));
    expect(one).toMatch(/^a+_[0-9a-f]{8}_id$/);
    expect(one).not.toBe(constraintName(long, ['b', 'd'], 'idx'));
    expect(constraintName(long, [], 'pkey')).toMatch(/_[0-9a-f]{8}_pk$/);
    expect(constraintName('x'.repeat(30), ['y'.repeat(30)], 'fkey')).toMatch(/_[0-9a-f]{8}_fk$/);
  });

  // Regression (found in review): shortened names stay within 63 bytes, hash suffix included.
  it('keeps shortened names within 63 bytes', () => {
    for (const name of [constraintName('a'.repeat(60), ['b'], 'idx'), constraintName('t'.repeat(60), [], 'pkey'), constraintName('é'.repeat(40), ['x'], 'fkey')]) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    }
  });
});

describe('normalizeTable', () => {
  it('fills defaults; a primary key is not nullable and not separately unique', () => {
    const t = normalizeTable(table([{ name: 'id', type: 'int', primary_key: true, auto_increment: true, unique: true }, { name: 'n', type: 'TEXT' }]));
    expect(t).toEqual({
      table: 't', indexes: [], foreign_keys: [], checks: [],
      columns: [
        { name: 'id', type: 'integer', nullable: false, primary_key: true, auto_increment: true, unique: false, default: null },
        { name: 'n', type: 'text', nullable: true, primary_key: false, auto_increment: false, unique: false, default: null },
      ],
    });
    expect(normalizeTable(table([{ name: 'id', type: 'uuid', primary_key: true, nullable: false }])).columns[0].nullable).toBe(false);
    const n = normalizeTable(table([{ name: 'x', type: 'native', native: 'tsvector', comment: 'c' }, { name: 'y', type: 'int', comment: '' }], { schema: 's' }));
    expect(n.schema).toBe('s');
    expect(n.columns[0]).toMatchObject({ type: 'native', native: 'tsvector', comment: 'c' });
    expect(n.columns[1]).not.toHaveProperty('comment');
  });

  it('refuses a nullable primary key and bad auto_increment', () => {
    refused(() => normalizeTable(table([{ name: 'id', type: 'int', primary_key: true, nullable: true }])), 'schema.columns.0.nullable');
    refused(() => normalizeTable(table([{ name: 'id', type: 'text', primary_key: true, auto_increment: true }])), 'schema.columns.0.auto_increment');
    refused(() => normalizeTable(table([{ name: 'id', type: 'decimal(10,0)', primary_key: true, auto_increment: true }])), 'schema.columns.0.auto_increment');
    refused(() => normalizeTable(table([{ name: 'id', type: 'int', auto_increment: true }])), 'schema.columns.0.auto_increment');
    refused(() => normalizeTable(table([
      { name: 'a', type: 'int', primary_key: true }, { name: 'b', type: 'bigint', primary_key: true, auto_increment: true },
    ])), 'schema.columns.1.auto_increment');
    refused(() => normalizeTable(table([{ name: 'id', type: 'int', primary_key: true, auto_increment: true, default: 1 }])), 'schema.columns.0.default');
    for (const type of ['smallint', 'integer', 'bigint', 'INT']) {
      expect(normalizeTable(table([{ name: 'id', type, primary_key: true, auto_increment: true }])).columns[0].auto_increment).toBe(true);
    }
  });

  it('refuses duplicate column names case-insensitively', () => {
    refused(() => normalizeTable(table([{ name: 'id', type: 'int' }, { name: 'ID', type: 'text' }])), 'schema.columns');
  });

  const def = (type: string, d: unknown) => normalizeTable(table([{ name: 'c', type, default: d as never }])).columns[0].default;

  it.each([
    ['boolean', false, false], ['boolean', true, true],
    ['integer', '12', 12], ['integer', -3, -3], ['bigint', '9007199254740993', '9007199254740993'],
    ['decimal(10,2)', 3, '3.00'], ['decimal(10,2)', '3.1', '3.10'], ['double', '1e3', 1000], ['real', 1.5, 1.5],
    ['json', '{"a":1}', '{"a":1}'], ['json', '[]', '[]'], ['text', "it's", "it's"], ['uuid', 'x', 'x'],
    ['binary', { sql: "X'00'" }, { sql: "X'00'" }], ['date', { sql: 'CURRENT_DATE' }, { sql: 'CURRENT_DATE' }], ['integer', null, null],
  ])('types the default of a %s column: %j -> %j', (type, d, want) => {
    expect(def(type, d)).toEqual(want);
  });

  it.each([
    ['boolean', 1], ['boolean', 'true'], ['integer', 1.5], ['integer', '1.0'], ['integer', 'x'], ['smallint', true],
    ['decimal(10,2)', 'x'], ['double', true], ['real', '1,5'], ['binary', 'x'], ['json', '{bad'], ['json', ''],
    ['text', 5], ['varchar(5)', false], ['text', 'a\u0000b'],
  ])('refuses the default %s %j', (type, d) => {
    refused(() => def(type, d), 'schema.columns.0.default');
  });

  it('moves a one-column foreign key onto the column, keeps multi-column ones', () => {
    const t = normalizeTable(table([
      { name: 'id', type: 'int', primary_key: true }, { name: 'user_id', type: 'int' }, { name: 'a', type: 'int' }, { name: 'b', type: 'int' },
    ], { foreign_keys: [
      { columns: ['USER_ID'], references: { table: 'users', columns: ['id'], schema: 'app' }, on_delete: 'cascade' },
      { name: 'fk2', columns: ['a', 'b'], references: { table: 'p', columns: ['x', 'y'] } },
    ] }));
    expect(t.columns[1].references).toEqual({ table: 'users', column: 'id', schema: 'app', on_delete: 'cascade', on_update: 'no action' });
    expect(t.foreign_keys).toEqual([{ name: 'fk2', columns: ['a', 'b'], references: { table: 'p', columns: ['x', 'y'] }, on_delete: 'no action', on_update: 'no action' }]);
    refused(() => normalizeTable(table([{ name: 'a', type: 'int' }], { foreign_keys: [{ columns: ['zz'], references: { table: 'v', columns: ['id'] } }] })), 'schema.foreign_keys.0.columns');
    refused(() => normalizeTable(table([{ name: 'a', type: 'int' }], { foreign_keys: [{ columns: ['a'], references: { table: 'v', columns: ['id', 'x'] } }] })), 'schema.foreign_keys.0');
  });

  it('names indexes <table>_<cols>_idx, sorts them by name and checks their columns', () => {
    const t = normalizeTable({ table: 'orders', columns: [{ name: 'user_id', type: 'int' }, { name: 'a', type: 'int' }, { name: 'b', type: 'int' }],
      indexes: [{ columns: ['user_id'] }, { columns: ['a', 'b'], unique: true }, { name: 'aaa', columns: ['b'] }] });
    expect(t.indexes).toEqual([
      { name: 'aaa', columns: ['b'], unique: false },
      { name: 'orders_a_b_idx', columns: ['a', 'b'], unique: true },
      { name: 'orders_user_id_idx', columns: ['user_id'], unique: false },
    ]);
    const cols = [{ name: 'a', type: 'int' }];
    refused(() => normalizeTable(table(cols, { indexes: [{ columns: ['zz'] }] })), 'schema.indexes.0.columns');
    refused(() => normalizeTable(table(cols, { indexes: [{ columns: ['a', 'A'] }] })), 'schema.indexes.0.columns');
    refused(() => normalizeTable(table(cols, { indexes: [{ name: 'x', columns: ['a'] }, { name: 'X', columns: ['a'] }] })), 'schema.indexes');
    refused(() => normalizeTable(table(cols, { indexes: [{ columns: ['a'] }, { columns: ['a'] }] })), 'schema.indexes');
  });
});

describe('identifier rules (tableInput)', () => {
  const issues = (t: unknown): string[] => {
    const r = tableInput.safeParse(t);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  const one = (name: string) => issues({ table: name, columns: [{ name: 'x', type: 'int' }] });

  it('accepts up to 63 bytes and leading spaces', () => {
    expect(one('a'.repeat(63))).toEqual([]);
    expect(one(' t')).toEqual([]);
    expect(one('é'.repeat(31))).toEqual([]);
  });

  it('refuses more than 63 bytes, NUL, trailing whitespace, empty names and unknown keys', () => {
    expect(one('a'.repeat(64))[0]).toMatch(/^table: .*63 bytes/);
    expect(one('é'.repeat(32))[0]).toMatch(/63 bytes/);
    expect(one('t\u0000x')[0]).toMatch(/NUL/);
    expect(one('t ')[0]).toMatch(/trailing whitespace/);
    expect(one('t\t')[0]).toMatch(/trailing whitespace/);
    expect(one('')).not.toEqual([]);
    expect(issues({ table: 't', columns: [{ name: 'x ', type: 'int' }] })[0]).toMatch(/^columns\.0\.name/);
    expect(issues({ table: 't', columns: [{ name: 'x', type: 'int', extra: 1 }] })).not.toEqual([]);
    expect(issues({ table: 't', columns: [] })).not.toEqual([]);
  });
});
