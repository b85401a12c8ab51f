/**
 * What every planned migration is checked for before the first one runs, and how a
 * failure is reported: the refusals of run_migration and rollback_migration.
 */
import { DbError } from '../../errors.js';
import type { BackendModule } from '../backends/types.js';
import type { Dialect } from '../dialect.js';
import { refuseBookkeepingWrite } from '../policy.js';
import { leadingKeywords } from '../sql.js';
import { statementsOf, type MigrationFile } from './files.js';
import { problems, type MigrationEntry } from './status.js';

/** The connection a migration is checked for. */
export interface Checked {
  module: BackendModule;
  dialect: Dialect;
}

const TX_CONTROL = /^(BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE)$/;

/**
 * Statements a section may not hold, checked for every planned migration before the
 * first runs: transaction control inside our transaction would commit half a
 * migration; COPY FROM STDIN waits for client data that never comes (the session
 * then holds the lock for good); a statement the backend ignores inside a transaction
 * (SQLite's PRAGMA foreign_keys: a table rebuild would cascade-delete child rows).
 */
export function checkSection(o: Checked, m: MigrationFile, direction: 'up' | 'down', statements: string[], inTransaction: boolean): void {
  const flavor = o.module.sql;
  if (statements.length === 0) throw new DbError('INVALID_INPUT', `migration ${m.versionText}_${m.name} has an empty ${direction} section`, { file: m.files[0] });
  statements.forEach((text, i) => {
    const [kw] = leadingKeywords(text, flavor, 1);
    const where = { file: m.files[0], direction, statement_index: i };
    if (inTransaction && TX_CONTROL.test(kw ?? '')) {
      throw new DbError('INVALID_INPUT', `migration ${m.versionText}_${m.name} (${direction}) holds ${kw} at statement ${i}: each migration already runs in its own transaction; remove it, or mark the file -- migrate:no-transaction`, where);
    }
    if (kw === 'COPY' && /\bFROM\s+STDIN\b/i.test(text)) {
      throw new DbError('INVALID_INPUT', `migration ${m.versionText}_${m.name} (${direction}) holds COPY ... FROM STDIN at statement ${i}: load rows with INSERT instead`, where);
    }
    const trap = inTransaction ? o.module.migrations.inTransactionTrap(text) : null;
    if (trap) {
      throw new DbError('INVALID_INPUT', `migration ${m.versionText}_${m.name} (${direction}) ${trap.does} at statement ${i}, ${trap.because}; mark the file -- migrate:no-transaction`, where);
    }
  });
}

export function refuseProblems(entries: MigrationEntry[], allowOutOfOrder: boolean): void {
  const found = problems(entries, allowOutOfOrder);
  if (found.length) {
    throw new DbError('MIGRATION_BLOCKED', `${found.length} problem(s) must be resolved first: ${found.map((p) => p.message).join('; ')}`, { problems: found });
  }
}

export function failure(m: MigrationFile, direction: 'up' | 'down', err: unknown, extra: Record<string, unknown>): DbError {
  const e = err instanceof DbError ? err : new DbError('INTERNAL', String(err));
  const index = typeof e.details.statement_index === 'number' ? e.details.statement_index : null;
  const { statement_index: _index, ...cause } = e.details;
  return new DbError('MIGRATION_FAILED', `migration ${m.versionText}_${m.name} (${direction}) failed${index === null ? '' : ` at statement ${index}`}: ${e.message}`, {
    version: m.version.toString(), direction, statement_index: index, cause_code: e.code, cause, ...extra,
  });
}

/**
 * Agent-written migration SQL passes the escape checks of agent statements (§6): the
 * agent writes the file with create_migration and runs it with run_migration, so without
 * this a migration would be a way round them. Files an operator wrote stay trusted.
 */
export async function refuseEscapes(o: Checked, sections: Array<[string, string | null]>, file?: string): Promise<void> {
  for (const [direction, text] of sections) {
    if (text === null) continue;
    const statements = statementsOf(text, o.module.sql);
    for (const [i, statement] of statements.entries()) {
      // A statement the classifier's grammar cannot parse is left to the database, which
      // parses it by the same grammar and refuses it there (a migration may fail on purpose).
      const c = await o.dialect.classify(statement).catch((err: unknown) => {
        if (err instanceof DbError && err.code === 'SYNTAX_ERROR') return null;
        throw err;
      });
      const where = { direction, statement_index: i, ...(file ? { file } : {}) };
      if (c?.escape) {
        throw new DbError('PERMISSION_DENIED', `not run on any connection: ${c.escape} (${direction} section, statement ${i}); migrations written by create_migration pass the same checks as execute_query`, { reason: c.escape, ...where });
      }
      // The history and the lock are the migration tools' own: an agent's migration does not write them either.
      if (c) {
        try {
          refuseBookkeepingWrite(c, statement);
        } catch (err) {
          throw err instanceof DbError ? new DbError(err.code, `${err.message} (${direction} section, statement ${i})`, { ...err.details, ...where }) : err;
        }
      }
    }
  }
}

