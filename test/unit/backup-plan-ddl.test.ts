/**
 * A restore plan uses the source's own DDL (`ddl`, `objects`, SPEC §17.1) only on the
 * backend and server flavour it came from; elsewhere the table is built from its
 * portable definition and every object is listed in `lossy`, never dropped unsaid.
 */
import { describe, expect, it } from 'vitest';
import { backendModule } from '../../src/core/backends/lookup.js';
import type { Header } from '../../src/core/backup/format.js';
import { planRestore } from '../../src/core/backup/plan.js';
import { schemaFlavor } from '../../src/core/schema/flavors.js';

const DDL = 'CREATE TABLE `t` (`id` int(11) NOT NULL, `b` text, PRIMARY KEY (`id`), FULLTEXT KEY `ft` (`b`)) ENGINE=InnoDB';

function header(flavor: string): Header {
  const definition = {
    table: 't', columns: [
      { name: 'id', type: 'integer', nullable: false, default: null, primary_key: true, unique: false, auto_increment: false },
      { name: 'b', type: 'text', nullable: true, default: null, primary_key: false, unique: false, auto_increment: false },
    ], indexes: [{ name: 'ft', columns: ['b'], unique: false, native: 'FULLTEXT' }], foreign_keys: [], checks: [],
  } as unknown as Header['tables'][number]['definition'];
  return {
    format: 'codomyrmex-db backup', version: 1, created_at: '2026-01-01T00:00:00Z',
    source: { connection: 'c', backend: 'mysql', server_version: '10.11', flavor, database: 'd', url: 'mysql://***' },
    tables: [{ name: 't', definition, columns: [{ name: 'id', encoding: 'integer' }, { name: 'b', encoding: 'text' }], order_by: ['id'], sequence: null, ddl: [DDL] }],
    objects: [{ kind: 'trigger', name: 'tr', table: 't', sql: 'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @x = 1', settings: { sql_mode: '' } }],
  };
}

describe('restore plans and the source\'s DDL', () => {
  const mysql = backendModule('mysql');
  const f = schemaFlavor('mysql');

  it('same backend and flavour: the table from its DDL, the objects after, nothing lossy', () => {
    const p = planRestore(header('mariadb'), f, mysql, 'mariadb');
    expect(p.tables[0].create).toBe(DDL);
    expect(p.objects.map((o) => o.name)).toEqual(['tr']);
    expect(p.lossy).toEqual([]);
    expect(p.tables[0].skip).toEqual([]);
    // A generated column's values are in the rows but not loaded into a table made from its DDL.
    const h = header('mariadb');
    h.tables[0].generated = ['b'];
    expect(planRestore(h, f, mysql, 'mariadb').tables[0].skip).toEqual([1]);
    expect(planRestore(h, f, mysql, 'mysql').tables[0].skip).toEqual([]);
  });

  it('another flavour or backend: the portable definition, and each object listed', () => {
    for (const [into, flavor] of [['mysql', 'mysql'], ['sqlite', null]] as const) {
      const p = planRestore(header('mariadb'), schemaFlavor(into), backendModule(into), flavor);
      expect(p.tables[0].create).not.toBe(DDL);
      expect(p.objects).toEqual([]);
      expect(p.lossy.map((l) => l.what).join('; ')).toMatch(/trigger tr \(mariadb SQL\) is not restored/);
      // MariaDB into MySQL: the table itself is listed too (what only its DDL carried may differ).
      expect(p.lossy.some((l) => /mariadb DDL .* is not run on mysql/.test(l.what))).toBe(into === 'mysql');
    }
  });
});
