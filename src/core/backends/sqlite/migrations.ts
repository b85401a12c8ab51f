/** sqlite: the migrations part of the backend module (contract/migrations.ts). */
import type { MigrationsSupport } from '../contract/migrations.js';

export const migrations: MigrationsSupport = {};
