/** postgres: the schema part of the backend module (contract/schema.ts). */
import type { SchemaSupport } from '../contract/schema.js';

export const schema: SchemaSupport = {};
