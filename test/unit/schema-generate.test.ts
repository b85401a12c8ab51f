import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DbError } from '../../src/errors.js';
import { generateTable } from '../../src/core/schema/generate.js';
import { normalizeTable, tableInput, type ColumnInput, type TableInput } from '../../src/core/schema/model.js';

/** Every generated table must be accepted as it stands by the tools that take tables. */
function gen(model: unknown, table?: string): TableInput {
  const out = generateTable(model, table);
  expect(() => normalizeTable(tableInput.parse(out))).not.toThrow();
  return out;
}

const col = (t: TableInput, name: string): ColumnInput => {
  const found = t.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
};

const prop = (schema: unknown, required = false): ColumnInput =>
  col(gen({ type: 'object', properties: { x: schema }, required: required ? ['x'] : [] }, 't'), 'x');

function refusal(model: unknown, table?: string): DbError {
  try {
    generateTable(model, table);
  } catch (err) {
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).code).toBe('INVALID_INPUT');
    return err as DbError;
  }
  throw new Error('expected INVALID_INPUT');
}

describe('generateTable from a JSON Schema', () => {
  it('maps a schema produced by zod, with its $schema, additionalProperties and required', () => {
    const schema = z.toJSONSchema(z.object({
      id: z.uuid(), email: z.email(), age: z.int32(), visits: z.int(), nick: z.string().max(20).nullable().describe('shown name'),
      prefs: z.object({ theme: z.string() }).optional(), role: z.enum(['admin', 'user']), seen: z.iso.datetime(), active: z.boolean().default(false),
    }).meta({ title: 'User Profile' }));
    expect(schema.$schema).toBeDefined();
    expect(schema.additionalProperties).toBe(false);
    const t = gen(schema);
    expect(t.table).toBe('user_profile');
    expect(t.columns).toEqual([
      { name: 'id', type: 'uuid', nullable: false, primary_key: true },
      { name: 'email', type: 'varchar(320)', nullable: false },
      { name: 'age', type: 'integer', nullable: false },
      { name: 'visits', type: 'bigint', nullable: false },
      { name: 'nick', type: 'varchar(20)', nullable: true, comment: 'shown name' },
      { name: 'prefs', type: 'json', nullable: true },
      { name: 'role', type: 'varchar(5)', nullable: false },
      { name: 'seen', type: 'timestamptz', nullable: false },
      { name: 'active', type: 'boolean', nullable: false, default: false },
    ]);
  });

  it('names the table from the argument first, then a cleaned title, else refuses', () => {
    expect(gen({ title: 'Ignored', properties: {} }, 'Given').table).toBe('Given');
    expect(gen({ title: '  Order Lines (v2)! ', properties: {} }).table).toBe('order_lines_v2');
    expect(gen({ title: 'x'.repeat(80), properties: {} }).table).toBe('x'.repeat(63));
    expect(refusal({ type: 'object', properties: {} }).details.field).toBe('table');
    expect(refusal({ title: '!!!', properties: {} }).details.field).toBe('table');
    expect(refusal({ properties: {} }, 'bad ').details.field).toBe('table');
  });

  it('makes required properties NOT NULL and others nullable', () => {
    expect(prop({ type: 'string' }, true).nullable).toBe(false);
    expect(prop({ type: 'string' }).nullable).toBe(true);
  });

  it('makes nullable type arrays, anyOf/oneOf null branches and nullable: true nullable even when required', () => {
    expect(prop({ type: ['integer', 'null'] }, true)).toMatchObject({ type: 'integer', nullable: true });
    expect(prop({ anyOf: [{ type: 'string', maxLength: 9 }, { type: 'null' }] }, true)).toMatchObject({ type: 'varchar(9)', nullable: true });
    expect(prop({ oneOf: [{ type: 'null' }, { type: 'boolean' }], default: true }, true)).toMatchObject({ type: 'boolean', nullable: true, default: true });
    expect(prop({ type: 'number', nullable: true }, true)).toMatchObject({ type: 'double', nullable: true });
    expect(prop({ anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }] }, true)).toMatchObject({ type: 'json', nullable: true });
    expect(prop({ type: ['string', 'integer'] }).type).toBe('json');
  });

  it('maps integers, choosing bigint only for int64 or bounds beyond int32', () => {
    expect(prop({ type: 'integer' }).type).toBe('integer');
    expect(prop({ type: 'integer', minimum: -2147483648, maximum: 2147483647 }).type).toBe('integer');
    expect(prop({ type: 'integer', format: 'int64' }).type).toBe('bigint');
    expect(prop({ type: 'integer', maximum: 2147483648 }).type).toBe('bigint');
    expect(prop({ type: 'integer', exclusiveMinimum: -3e9 }).type).toBe('bigint');
    expect(prop({ type: 'integer', minimum: 0, maximum: 10 }).type).toBe('integer');
  });

  it('maps numbers to double, or decimal(18,k) for a multipleOf of 10^-k', () => {
    expect(prop({ type: 'number' }).type).toBe('double');
    expect(prop({ type: 'number', multipleOf: 0.01 }).type).toBe('decimal(18,2)');
    expect(prop({ type: 'number', multipleOf: 1 }).type).toBe('decimal(18,0)');
    expect(prop({ type: 'number', multipleOf: 0.05 }).type).toBe('double');
    expect(prop({ type: 'number', multipleOf: 10 }).type).toBe('double');
  });

  it('maps strings by encoding, format, enum and maxLength', () => {
    const cases: [object, string][] = [
      [{}, 'text'], [{ maxLength: 40 }, 'varchar(40)'], [{ maxLength: 16383 }, 'varchar(16383)'], [{ maxLength: 16384 }, 'text'],
      [{ format: 'date-time' }, 'timestamptz'], [{ format: 'date' }, 'date'], [{ format: 'time' }, 'time'],
      [{ format: 'uuid' }, 'uuid'], [{ format: 'email', maxLength: 50 }, 'varchar(320)'], [{ format: 'uri' }, 'text'],
      [{ format: 'url', maxLength: 2000 }, 'varchar(2000)'], [{ contentEncoding: 'base64' }, 'binary'], [{ format: 'byte' }, 'binary'],
      [{ format: 'binary' }, 'binary'], [{ enum: ['a', 'ünïcödé', 'bb'] }, 'varchar(7)'], [{ enum: [''] }, 'varchar(1)'],
    ];
    for (const [extra, type] of cases) expect(prop({ type: 'string', ...extra }).type, JSON.stringify(extra)).toBe(type);
    expect(prop({ enum: ['x', 'yy'] }).type).toBe('varchar(2)');
    expect(prop({ enum: [1, 2] }).type).toBe('json');
  });

  it('maps booleans, and objects, arrays, $ref and untyped properties to json', () => {
    expect(prop({ type: 'boolean' }).type).toBe('boolean');
    for (const s of [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'array', items: {} }, { $ref: '#/$defs/A' }, {}, true]) {
      expect(prop(s).type).toBe('json');
    }
  });

  it('keeps defaults of the right shape and drops the rest', () => {
    expect(prop({ type: 'string', default: 'hi' }).default).toBe('hi');
    expect(prop({ type: 'integer', default: 3 }).default).toBe(3);
    expect(prop({ type: 'number', multipleOf: 0.01, default: 1.5 }).default).toBe(1.5);
    expect(prop({ type: 'object', default: { a: [1] } }).default).toBe('{"a":[1]}');
    expect(prop({ type: 'array', default: [] }).default).toBe('[]');
    for (const s of [{ type: 'integer', default: 'x' }, { type: 'integer', default: 1.5 }, { type: 'boolean', default: 0 },
      { type: 'string', default: 5 }, { type: 'string', default: null }, { type: 'string', maxLength: 2, default: 'abc' },
      { type: 'string', format: 'byte', default: 'AA==' }]) {
      expect(prop(s), JSON.stringify(s)).not.toHaveProperty('default');
    }
  });

  it('turns descriptions into comments cut to 1024 characters, and x-unique into unique', () => {
    expect(prop({ type: 'string', description: 'd'.repeat(2000) }).comment).toHaveLength(1024);
    expect(prop({ type: 'string', description: `${'d'.repeat(1023)}😀` }).comment).toBe('d'.repeat(1023));
    expect(prop({ type: 'string', maxLength: 10, 'x-unique': true }).unique).toBe(true);
  });

  it('keeps property names exactly and in order', () => {
    const t = gen({ properties: { Zeta: { type: 'string' }, alpha: {}, 'Mixed Case': { type: 'integer' } } }, 't');
    expect(t.columns.map((c) => c.name)).toEqual(['id', 'Zeta', 'alpha', 'Mixed Case']);
  });

  it('refuses invalid or case-colliding property names, naming the property', () => {
    const long = 'p'.repeat(64);
    expect(refusal({ properties: { [long]: {} } }, 't').details.field).toBe(`model.properties.${long}`);
    expect(refusal({ properties: { 'trailing ': {} } }, 't').message).toContain('"trailing "');
    expect(refusal({ properties: { '': {} } }, 't').details.field).toBe('model.properties.');
    expect(refusal({ properties: { name: {}, Name: {} } }, 't').details.field).toBe('model.properties.Name');
    expect(refusal({ properties: { x: 'string' as unknown } }, 't').details.field).toBe('model.properties.x');
  });

  it('refuses more than 1000 columns, counting the added id', () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, { type: 'integer' }]));
    expect(gen({ properties: { id: { type: 'integer' }, ...props(999) } }, 't').columns).toHaveLength(1000);
    expect(refusal({ properties: props(1000) }, 't').details.field).toBe('model.properties');
  });
});

describe('generateTable primary keys', () => {
  const keyOf = (t: TableInput) => t.columns.filter((c) => c.primary_key);

  it('makes an integer or untyped id a bigint auto_increment key, dropping its default and nullability', () => {
    for (const id of [{ type: 'integer', default: 1 }, { type: ['integer', 'null'] }, {}, { description: 'row' }]) {
      const t = gen({ properties: { name: { type: 'string' }, id } }, 't');
      expect(t.columns.map((c) => c.name)).toEqual(['name', 'id']);
      expect(col(t, 'id')).toMatchObject({ type: 'bigint', primary_key: true, auto_increment: true, nullable: false });
      expect(col(t, 'id')).not.toHaveProperty('default');
    }
  });

  it('keeps the mapped type of a uuid or string id, without auto_increment', () => {
    expect(col(gen({ properties: { id: { type: 'string', format: 'uuid' } } }, 't'), 'id')).toEqual({ name: 'id', type: 'uuid', nullable: false, primary_key: true });
    expect(col(gen({ properties: { id: { type: 'string', maxLength: 12, 'x-unique': true } } }, 't'), 'id')).toEqual({ name: 'id', type: 'varchar(12)', nullable: false, primary_key: true });
  });

  it('adds an id bigint auto_increment key first when no property is a key', () => {
    const t = gen({ properties: { name: { type: 'string' } } }, 't');
    expect(t.columns[0]).toEqual({ name: 'id', type: 'bigint', nullable: false, primary_key: true, auto_increment: true });
    expect(refusal({ properties: { ID: { type: 'integer' } } }, 't').details.field).toBe('model.properties.ID');
  });

  it('lets x-primary-key win over id, composite keys keeping their types', () => {
    const t = gen({ properties: { id: { type: 'integer' }, a: { type: 'string', maxLength: 5, 'x-primary-key': true }, b: { type: 'integer', 'x-primary-key': true } } }, 't');
    expect(keyOf(t)).toEqual([
      { name: 'a', type: 'varchar(5)', nullable: false, primary_key: true },
      { name: 'b', type: 'integer', nullable: false, primary_key: true },
    ]);
    expect(col(t, 'id')).toEqual({ name: 'id', type: 'integer', nullable: true });
    expect(keyOf(gen({ properties: { code: { type: 'integer', 'x-primary-key': true } } }, 't'))).toEqual([
      { name: 'code', type: 'bigint', nullable: false, primary_key: true, auto_increment: true },
    ]);
  });

  it('refuses a json key', () => {
    expect(refusal({ properties: { id: { type: 'object' } } }, 't').details.field).toBe('model.properties.id');
    expect(refusal({ properties: { a: { 'x-primary-key': true }, b: { type: 'integer', 'x-primary-key': true } } }, 't').details.field).toBe('model.properties.a');
  });
});

describe('generateTable from a field map', () => {
  it('parses portable types and aliases, NOT NULL unless suffixed with ?', () => {
    const t = gen({ id: 'int', email: 'varchar(320)', bio: 'string?', price: 'numeric(10, 2)', at: 'timestamp with time zone ?', data: 'jsonb' }, 'people');
    expect(t).toEqual({ table: 'people', columns: [
      { name: 'id', type: 'bigint', nullable: false, primary_key: true, auto_increment: true },
      { name: 'email', type: 'varchar(320)', nullable: false },
      { name: 'bio', type: 'text', nullable: true },
      { name: 'price', type: 'decimal(10,2)', nullable: false },
      { name: 'at', type: 'timestamptz', nullable: true },
      { name: 'data', type: 'json', nullable: false },
    ] });
  });

  it('applies the id convention: other id types are kept, and an id is added when missing', () => {
    expect(col(gen({ id: 'uuid?' }, 't'), 'id')).toEqual({ name: 'id', type: 'uuid', nullable: false, primary_key: true });
    expect(col(gen({ id: 'smallint' }, 't'), 'id')).toEqual({ name: 'id', type: 'smallint', nullable: false, primary_key: true });
    expect(gen({ name: 'text' }, 't').columns[0]).toMatchObject({ name: 'id', type: 'bigint', auto_increment: true });
    expect(gen({}, 't').columns).toHaveLength(1);
  });

  it('refuses unknown and native types, bad names and a missing table', () => {
    const unknown = refusal({ age: 'number' }, 't');
    expect(unknown.details.field).toBe('model.age');
    expect(unknown.message).toContain('field "age"');
    expect(refusal({ a: 'varchar' }, 't').details.field).toBe('model.a');
    expect(refusal({ a: 'native' }, 't').details.field).toBe('model.a');
    expect(refusal({ a: 'text??' }, 't').details.field).toBe('model.a');
    expect(refusal({ 'a ': 'text' }, 't').details.field).toBe('model.a ');
    expect(refusal({ a: 'text' }).details.field).toBe('table');
    expect(refusal({ id: 'json' }, 't').details.field).toBe('model.id');
  });

  it('treats a string-valued "properties" or "type" as a field', () => {
    expect(gen({ properties: 'text', type: 'varchar(10)' }, 't').columns.map((c) => c.name)).toEqual(['id', 'properties', 'type']);
  });
});

describe('generateTable refuses other shapes', () => {
  it.each([[null], [42], ['users'], [[{ id: 'integer' }]], [{ a: 'text', b: 1 }], [{ properties: [] }]])('refuses %j', (model) => {
    const err = refusal(model, 't');
    expect(err.details.field).toBe('model');
    expect(err.message).toContain('JSON Schema');
    expect(err.message).toContain('field map');
  });

  it('refuses a typed object schema whose properties are not an object', () => {
    expect(refusal({ type: 'object', properties: [] }, 't').details.field).toBe('model.properties');
  });
});
