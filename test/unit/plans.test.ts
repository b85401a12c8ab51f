/**
 * Plan summaries and findings from plans as the servers print them (shapes taken
 * from PostgreSQL 15, MariaDB 10.11 and SQLite 3.5x output), and the lexer-based
 * reading of conditions they rely on.
 */
import { describe, expect, it } from 'vitest';
import { conditionColumns, tableAliases, whereClause } from '../support/sql.js';
import { findingsOf, LARGE_TABLE_ROWS } from '../../src/core/performance/findings.js';
import { mysqlPlans } from '../../src/core/backends/mysql/plans.js';
import { postgresPlans } from '../../src/core/backends/postgres/plans.js';
import { sqlitePlans } from '../../src/core/backends/sqlite/plans.js';
import { emptyNode } from '../../src/core/performance/plans/types.js';
import { backendModule, type Backend } from '../../src/core/backends/lookup.js';

/** A backend's advice, as monitor_query_performance passes it to findingsOf. */
const advice = (backend: Backend) => backendModule(backend).performance.advice;

describe('conditions', () => {
  it.each<[string, 'postgres' | 'mysql' | 'sqlite', string[], string[]]>([
    ['(customer_id = 42)', 'postgres', ['orders'], ['customer_id']],
    ['((o.status)::text = \'open\'::text) AND (o.total > 100)', 'postgres', ['o'], ['status', 'total']],
    ['(total > 100) AND (customer_id = $1)', 'postgres', [], ['customer_id', 'total']],
    ['(c.name = o.note) AND (o.id = 1)', 'postgres', ['o'], ['note', 'id']],
    ['lower(email) = \'x\' AND id = ANY (\'{1,2}\'::integer[])', 'postgres', [], ['email', 'id']],
    ['b.cust is not null', 'mysql', ['b'], []],
    ['o.`name` = _utf8mb4\'x\' collate utf8mb4_bin and o.cust between 1 and 5', 'mysql', ['o'], ['name', 'cust']],
    ['"Weird Col" = 1', 'sqlite', [], ['Weird Col']],
    // Multi-word types in casts are not columns (Sakila's rental_date filter, as PostgreSQL prints it).
    ["(rental_date >= '2005-05-25 00:00:00+00'::timestamp with time zone) AND (staff_id = 1)", 'postgres', ['rental'], ['staff_id', 'rental_date']],
    ["(r.rental_date)::timestamp without time zone < '2005-06-01'::timestamp(0) without time zone", 'postgres', ['r'], ['rental_date']],
    ["(name)::character varying(20) = 'x'::character varying AND score > 1.5::double precision", 'postgres', [], ['name', 'score']],
    ["(span > '1 day'::interval day to second) AND (tags && '{a}'::text[])", 'postgres', [], ['span', 'tags']],
    ["CAST(amount AS decimal(10, 2)) > 5 AND CAST(code AS char(3) character set utf8mb4) = 'x'", 'mysql', [], ['code', 'amount']],
    ["(a.v)::text ~~ 'x%'::text AND (a.w)::\"char\" = 'y'::\"char\"", 'postgres', ['a'], ['w', 'v']],
    ["x.total::numeric(12,2) = y AND x.kind = 'a'", 'postgres', ['x'], ['total', 'y', 'kind']],
  ])('%s', (expr, flavor, qualifiers, expected) => {
    expect(conditionColumns(expr, flavor, new Set(qualifiers))).toEqual(expected);
  });

  it.each<[string, string[]]>([
    // Operators a plain index does not serve (arrays, JSON, ranges): not a plain index's column.
    ["(tags && '{t1}'::character varying[]) AND (\"with\" = 3)", ['with']],
    ["((payload ->> 'a'::text))::integer = 5", []],
    ["(during @> now()) AND (room = 1) AND (kind ~~ 'k%'::text)", ['room', 'kind']],
    ["(v)::text ~~ 'x%'::text AND (w)::\"char\" = 'y'::\"char\" AND (x + 1) > 2", ['w', 'v']],
  ])('plain-index columns of %s', (expr, expected) => {
    expect(conditionColumns(expr, 'postgres', new Set(), true)).toEqual(expected);
  });

  it('finds the top-level WHERE only', () => {
    expect(whereClause('SELECT * FROM t WHERE a = 1 AND b IN (SELECT x FROM u WHERE y = 2) ORDER BY c', 'sqlite')).toBe('a = 1 AND b IN (SELECT x FROM u WHERE y = 2) ');
    expect(whereClause('WITH c AS (SELECT * FROM t WHERE v = 3) SELECT * FROM c', 'sqlite')).toBeNull();
    expect(whereClause('DELETE FROM t WHERE id = 5', 'postgres')).toBe('id = 5');
  });

  it('maps aliases to tables', () => {
    const a = tableAliases('SELECT * FROM public.orders o JOIN customers AS c ON c.id = o.cid, items i WHERE f(x, y) = 1 ORDER BY a, b', 'postgres');
    expect(Object.fromEntries(a)).toEqual({ 'public.orders': 'public.orders', orders: 'public.orders', o: 'public.orders', customers: 'customers', c: 'customers', items: 'items', i: 'items' });
    expect(Object.fromEntries(tableAliases('INSERT INTO t (a, b) VALUES (1, 2)', 'mysql'))).toEqual({ t: 't' });
  });
});

describe('plan readers', () => {
  it('reads a PostgreSQL analysed plan', () => {
    const doc = [{
      Plan: {
        'Node Type': 'Sort', 'Plan Rows': 20, 'Actual Rows': 20, 'Actual Loops': 1, 'Actual Total Time': 30.5, 'Sort Space Type': 'Disk',
        Plans: [{ 'Node Type': 'Seq Scan', 'Relation Name': 'orders', Schema: 'public', Alias: 'o', 'Plan Rows': 20, 'Actual Rows': 20, 'Actual Loops': 1, 'Actual Total Time': 29, Filter: '(o.customer_id = 42)', 'Rows Removed by Filter': 199980 }],
      },
      'Planning Time': 0.1, 'Execution Time': 30.7,
    }];
    const plan = postgresPlans.read([{ 'QUERY PLAN': doc }], '');
    expect(plan).toMatchObject({ source: 'EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)', analyzed: true, planning_ms: 0.1, execution_ms: 30.7 });
    expect(plan.nodes[1]).toMatchObject({ depth: 1, operation: 'Seq Scan', table: 'orders', full_scan: true, filter_columns: ['customer_id'], table_rows: 200_000, rows_removed_by_filter: 199_980 });
    expect(plan.nodes[0].sort_spilled).toBe(true);
    expect(findingsOf(plan.nodes, advice('postgres')).map((f) => f.kind)).toEqual(['sort_spilled', 'missing_index']);
  });

  it('reads a MariaDB analysed plan, naming tables behind their aliases', () => {
    const doc = {
      query_optimization: { r_total_time_ms: 0.0834 },
      query_block: { select_id: 1, r_loops: 1, r_total_time_ms: 122.066, nested_loop: [{ read_sorted_file: { filesort: {
        sort_key: 'o.`name`', r_loops: 1, r_sort_passes: 33, r_total_time_ms: 77.5,
        table: { table_name: 'o', access_type: 'ALL', r_loops: 1, rows: 50145, r_rows: 50000, r_table_time_ms: 43.7, r_other_time_ms: 78.1, attached_condition: 'o.cust > 5' },
      } } }] },
    };
    const plan = mysqlPlans.read([{ ANALYZE: JSON.stringify(doc) }], 'SELECT * FROM orders o WHERE o.cust > 5 ORDER BY name');
    expect(plan).toMatchObject({ source: 'ANALYZE FORMAT=JSON', analyzed: true, planning_ms: 0.083, execution_ms: 122.066 });
    expect(plan.nodes.map((n) => [n.operation, n.table, n.sort_spilled])).toEqual([['filesort', null, true], ['ALL', 'orders', null]]);
    expect(plan.nodes[1]).toMatchObject({ estimated_rows: 50145, actual_rows: 50000, table_rows: 50145, filter_columns: ['cust'], time_ms: 121.8 });
  });

  it('reads SQLite plans: aliases, automatic indexes, temporary sorts', () => {
    const rows = [
      { id: 4, parent: 0, notused: 0, detail: 'SCAN p' },
      { id: 8, parent: 0, notused: 0, detail: 'BLOOM FILTER ON o (cust=? AND v=?)' },
      { id: 20, parent: 0, notused: 0, detail: 'SEARCH o USING AUTOMATIC PARTIAL COVERING INDEX (cust=? AND v=?)' },
      { id: 30, parent: 0, notused: 0, detail: 'SEARCH t USING INDEX t_a (a=?)' },
      { id: 31, parent: 0, notused: 0, detail: 'USE TEMP B-TREE FOR ORDER BY' },
    ];
    const plan = sqlitePlans.read(rows, 'SELECT * FROM big o JOIN big p ON p.v = o.v JOIN t ON t.a = o.id WHERE o.cust = 5 ORDER BY p.id');
    expect(plan.nodes.map((n) => [n.operation, n.table, n.index, n.full_scan])).toEqual([
      ['SCAN', 'big', null, true],
      ['BLOOM FILTER ON o', null, null, false],
      ['SEARCH (automatic index)', 'big', 'automatic index', false],
      ['SEARCH', 't', 't_a', false],
      ['TEMP B-TREE', null, null, false],
    ]);
    plan.nodes[2].table_rows = 200_000;
    expect(findingsOf(plan.nodes, advice('sqlite'))).toEqual([expect.objectContaining({ kind: 'automatic_index', table: 'big', columns: ['cust', 'v'], suggestion: 'CREATE INDEX big_cust_v_idx ON big (cust, v)' })]);
  });
});

describe('findings', () => {
  const scan = (rows: number | null, columns: string[]) => ({ ...emptyNode(0, 'Seq Scan'), table: 'orders', full_scan: true, filter_columns: columns, index_columns: columns, table_rows: rows });

  it('asks for an index only on large tables with a filter', () => {
    expect(findingsOf([scan(LARGE_TABLE_ROWS - 1, ['a'])], advice('postgres'))).toEqual([]);
    expect(findingsOf([scan(1_000_000, [])], advice('postgres'))).toEqual([]);
    const [f] = findingsOf([scan(1_234_567, ['customer_id', 'status', 'created_at', 'extra'])], advice('postgres'));
    expect(f.message).toBe('sequential scan on orders (1,234,567 rows) filtered by customer_id, status, created_at: an index on orders(customer_id, status, created_at) is likely to help');
    expect(f.suggestion).toBe('CREATE INDEX orders_customer_id_status_created_at_idx ON orders (customer_id, status, created_at)');
  });

  it('says when a table\'s size is unknown instead of guessing', () => {
    expect(findingsOf([scan(null, ['a'])], advice('postgres'))).toEqual([expect.objectContaining({ kind: 'no_statistics', suggestion: 'ANALYZE orders' })]);
  });

  it('quotes names that need it', () => {
    const [f] = findingsOf([{ ...scan(50_000, ['Weird Col']), table: 'my schema.Orders' }], advice('mysql'));
    expect(f.suggestion).toBe('CREATE INDEX orders_weird_col_idx ON `my schema`.`Orders` (`Weird Col`)');
  });

  it('quotes key words and leaves out columns only other operators compare', () => {
    const [f] = findingsOf([{ ...scan(50_000, ['with', 'tags']), index_columns: ['with'], table: 'ev' }], advice('postgres'));
    expect(f).toMatchObject({ columns: ['with'], suggestion: 'CREATE INDEX ev_with_idx ON ev ("with")' });
    expect(findingsOf([{ ...scan(50_000, ['tags']), index_columns: [] }], advice('postgres'))).toEqual([]);
    expect(findingsOf([{ ...scan(50_000, ['order']), table: 'o' }], advice('mysql'))[0].suggestion).toBe('CREATE INDEX o_order_idx ON o (`order`)');
  });

  it('reports estimates far from what was counted', () => {
    const node = { ...emptyNode(0, 'Index Scan'), table: 'orders', estimated_rows: 20, actual_rows: 20_000 };
    expect(findingsOf([node], advice('postgres'))).toEqual([expect.objectContaining({ kind: 'estimate_mismatch', table: 'orders' })]);
    expect(findingsOf([{ ...node, actual_rows: 150 }], advice('postgres'))).toEqual([]);
  });
});
