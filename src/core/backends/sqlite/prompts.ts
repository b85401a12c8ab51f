/** sqlite: what the prompts tell an agent (contract/prompts.ts). */
import type { PromptSupport } from '../contract/prompts.js';

export const prompts: PromptSupport = {
  catalog: {
    tables: "SELECT name, type FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
    columns: 'SELECT * FROM pragma_table_info(?)',
    foreignKeys: 'SELECT * FROM pragma_foreign_key_list(?)',
    indexes: 'SELECT * FROM pragma_index_list(?)',
  },
  migrationNote: 'SQLite DDL is transactional; ALTER TABLE is limited (a column change may need a new table, a copy and a rename).',
  plan: 'EXPLAIN QUERY PLAN <the query>: look for SCAN (a full table scan) where you expected SEARCH ... USING INDEX.',
  findSlow: null,
  staleStatistics: null,
};
