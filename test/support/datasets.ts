/**
 * The shared public sample databases (../shared/datasets beside the project), loaded
 * the way their README says: with the engines' own clients, since the dumps use client
 * commands (COPY … FROM stdin, DELIMITER) that no driver runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MYSQL_URL, PG_URL } from './backends.js';

export const DATASETS_DIR = resolve(import.meta.dirname, '../../../shared/datasets');

/** Whether the data sets are there (a clone without its sibling shared/ folder skips these tests). */
export const haveDatasets = existsSync(resolve(DATASETS_DIR, 'README.md'));

const shell = (script: string): void => {
  execFileSync('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 20 });
};

function mysqlClientArgs(): string {
  const u = new URL(MYSQL_URL);
  return `-h${u.hostname} -P${u.port || 3306} -u${decodeURIComponent(u.username)}${u.password ? ` -p${decodeURIComponent(u.password)}` : ''}`;
}

/** Loads Sakila (schema, then data) into an existing, empty MariaDB/MySQL database. */
export function loadSakila(database: string): void {
  const args = mysqlClientArgs();
  for (const f of ['sakila-schema.sql.gz', 'sakila-data.sql.gz']) shell(`gzip -dc ${resolve(DATASETS_DIR, f)} | mariadb ${args} ${database}`);
}

/** Loads Chinook into an existing, empty database of the backend (SQLite: a file path). */
export function loadChinook(backend: 'postgres' | 'mysql' | 'sqlite', target: string): void {
  if (backend === 'mysql') shell(`gzip -dc ${resolve(DATASETS_DIR, 'chinook-mysql.sql.gz')} | mariadb ${mysqlClientArgs()} ${target}`);
  else if (backend === 'postgres') shell(`gzip -dc ${resolve(DATASETS_DIR, 'chinook-postgres.sql.gz')} | psql -Xq -v ON_ERROR_STOP=1 ${pgUrl(target)} >/dev/null`);
  else shell(`gzip -dc ${resolve(DATASETS_DIR, 'chinook.sqlite.gz')} > ${target}`);
}

/** Loads Pagila (schema, data, then the materialized view) into an existing, empty PostgreSQL database. */
export function loadPagila(database: string): void {
  const url = pgUrl(database);
  for (const f of ['pagila-schema.sql.gz', 'pagila-data.sql.gz']) shell(`gzip -dc ${resolve(DATASETS_DIR, f)} | psql -Xq -v ON_ERROR_STOP=1 ${url} >/dev/null`);
  shell(`psql -Xq -v ON_ERROR_STOP=1 ${url} -c 'REFRESH MATERIALIZED VIEW rental_by_category' -c 'ANALYZE' >/dev/null`);
}

const pgUrl = (database: string): string => `'${PG_URL.replace(/\/[^/]*$/, `/${database}`)}'`;
