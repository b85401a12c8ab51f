/** The PostgreSQL read-only guard's decision (backends/postgres/guard.ts) from the connect probe's row: pure. */
import { describe, expect, it } from 'vitest';
import { beginReadOnly, planGuard } from '../../src/core/backends/postgres/guard.js';

const row = (r: Record<string, unknown>): Record<string, unknown> => ({ me_super: false, me_powers: '', read_all: false, cfg_super: null, cfg_powers: null, cfg_usable: null, ...r });

describe('planGuard', () => {
  it('superuser: pg_read_all_data', () => {
    expect(planGuard(row({ me_super: true, read_all: true }), undefined)).toMatchObject({ role: 'pg_read_all_data', engine: 'read-only transaction + role pg_read_all_data' });
  });
  it('powers pg_read_all_data holds too (a grant to PUBLIC): the role still, with a warning', () => {
    const g = planGuard(row({ me_super: true, read_all: true, read_all_powers: 'pg_read_file(text)' }), undefined);
    expect(g.role).toBe('pg_read_all_data');
    expect(g.warning).toMatch(/pg_read_all_data itself holds pg_read_file\(text\)/);
  });
  it('no powers: no role change, no warning', () => {
    expect(planGuard(row({}), undefined)).toEqual({ role: null, engine: 'read-only transaction', classifier: true });
  });
  it('powers without pg_read_all_data (or PostgreSQL < 14): no role, a warning naming them', () => {
    const g = planGuard(row({ me_powers: 'pg_read_server_files;lo_export(oid,text)' }), undefined);
    expect(g.role).toBeNull();
    expect(g.warning).toMatch(/pg_read_server_files, lo_export\(oid,text\).*read_only_role/);
    expect(planGuard(row({ me_super: true, read_all: false }), undefined).warning).toMatch(/superuser/);
  });
  it('configured role: used when usable and powerless; refused otherwise', () => {
    expect(planGuard(row({ me_super: true, cfg_usable: true, cfg_super: false, cfg_powers: '' }), 'agent_ro').role).toBe('agent_ro');
    expect(() => planGuard(row({ cfg_usable: null }), 'x')).toThrow(/does not exist/);
    expect(() => planGuard(row({ cfg_usable: false, cfg_super: false }), 'x')).toThrow(/not a member/);
    expect(() => planGuard(row({ cfg_usable: true, cfg_super: true }), 'x')).toThrow(/superuser/);
    expect(() => planGuard(row({ cfg_usable: true, cfg_super: false, cfg_powers: 'pg_signal_backend' }), 'x')).toThrow(/pg_signal_backend/);
  });
});

describe('beginReadOnly', () => {
  it('one message: BEGIN, the role, the timeout and the interval style, all local to the transaction; a quote in a role name stays inside its literal', () => {
    const settings = "set_config('statement_timeout', '1500', true), set_config('IntervalStyle', 'iso_8601', true)";
    expect(beginReadOnly(null, 1500)).toBe(`begin read only; select ${settings}`);
    expect(beginReadOnly('pg_read_all_data', 1500.7)).toBe(`begin read only; select set_config('role', 'pg_read_all_data', true), ${settings}`);
    expect(beginReadOnly("a'b", 1500)).toBe(`begin read only; select set_config('role', 'a''b', true), ${settings}`);
  });
});
