/** The PostgreSQL backend: everything the server knows of it, as one module (../types.ts). */
import type { BackendModule } from '../types.js';
import { backup } from './backup.js';
import { connection } from './connection.js';
import { createPostgresDialect } from './dialect.js';
import { migrations } from './migrations.js';
import { performance } from './performance.js';
import { prompts } from './prompts.js';
import { schema } from './schema.js';
import { sql } from './sql.js';

export const postgres = {
  name: 'postgres',
  label: 'PostgreSQL',
  createDialect: createPostgresDialect,
  connection,
  sql,
  schema,
  migrations,
  backup,
  performance,
  prompts,
} as const satisfies BackendModule<'postgres'>;
