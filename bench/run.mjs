// `npm run bench`: every benchmark, printed as tables of ours beside the baseline.
import { benchContext } from './context.mjs';
import { benchHttp } from './http.mjs';
import { benchAvailability } from './availability.mjs';
import { benchBackup } from './backup.mjs';
import { benchCalls } from './calls.mjs';
import { benchFidelity } from './fidelity.mjs';
import { printTable } from './lib.mjs';
import { benchMigrations } from './migrations.mjs';
import { benchPerformance } from './performance.mjs';
import { benchQueries } from './queries.mjs';
import { benchSchema } from './schema.mjs';
import { benchStartup } from './startup.mjs';

const only = process.argv[2];
if (!only || only === 'startup') printTable('Start-up', await benchStartup());
if (!only || only === 'calls') printTable('The cost of one call against DBHub 1.4.0 (issue 17), same run', await benchCalls());
if (!only || only === 'queries') printTable('execute_query overhead, medians of 500 sequential calls', await benchQueries());
if (!only || only === 'context') printTable('Context cost (issue 16): the tool list, per tool, and a 1,000 × 5 result', await benchContext());
if (!only || only === 'http') printTable('Streamable HTTP vs stdio, PostgreSQL, medians of 3 rounds', await benchHttp());
if (!only || only === 'migrations') printTable('Migrations: run_migration vs a bare loop', await benchMigrations());
if (!only || only === 'schema') printTable('get_schema on a 500-table database', await benchSchema());
if (!only || only === 'performance') printTable('PerformanceMonitor: query log cost and get_database_stats', await benchPerformance());
if (only === 'fidelity') printTable('Backups of Sakila- and Pagila-shaped tables (issue 15) vs the native tools, medians', await benchFidelity());
if (only === 'backup') printTable('Backups: create_backup / restore_backup vs the native tools, medians', await benchBackup());
if (!only || only === 'availability') printTable('Availability: list_connections every 50 ms during one costly request, medians of 3 rounds', await benchAvailability());
