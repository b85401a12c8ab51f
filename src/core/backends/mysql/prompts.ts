/** mysql: what the prompts tell an agent (contract/prompts.ts). */
import type { PromptSupport } from '../contract/prompts.js';

export const prompts: PromptSupport = {
  catalog: {
    tables: 'SELECT table_name, table_type, table_rows FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name',
    columns: 'SELECT column_name, column_type, is_nullable, column_key, column_default FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
    foreignKeys: 'SELECT table_name, column_name, referenced_table_name, referenced_column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL',
    indexes: 'SELECT index_name, column_name, seq_in_index, non_unique FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name, seq_in_index',
  },
  migrationNote: 'MySQL/MariaDB DDL commits implicitly: a failure halfway leaves the migration `failed`, so keep each migration to one logical change.',
  plan: 'EXPLAIN FORMAT=JSON <the query>. ANALYZE FORMAT=JSON (MariaDB) or EXPLAIN ANALYZE (MySQL) gives actual rows but runs the statement: SELECT only, writable connection only.',
  findSlow: null,
  staleStatistics: null,
};
