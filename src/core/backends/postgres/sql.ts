/** postgres: the sql part of the backend module (contract/sql.ts). */
import type { SqlSupport } from '../contract/sql.js';

export const sql: SqlSupport = {};
