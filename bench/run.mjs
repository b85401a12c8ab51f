// `npm run bench`: every benchmark, printed as tables of ours beside the baseline.
import { benchBackup } from './backup.mjs';
import { printTable } from './lib.mjs';
import { benchMigrations } from './migrations.mjs';
import { benchQueries } from './queries.mjs';
import { benchStartup } from './startup.mjs';

const only = process.argv[2];
if (!only || only === 'startup') printTable('Start-up', await benchStartup());
if (!only || only === 'queries') printTable('execute_query overhead, medians of 500 sequential calls', await benchQueries());
if (!only || only === 'migrations') printTable('Migrations: run_migration vs a bare loop', await benchMigrations());
if (only === 'backup') printTable('Backups: create_backup / restore_backup vs the native tools, medians', await benchBackup());
