/**
 * The list of backends, one line each: the only place that names them all. Adding a
 * backend is its folder plus one line here; everything derived from the list (the
 * `Backend` type, zod enums, lookups by name) is in lookup.ts.
 */
export { mysql } from './mysql/index.js';
export { postgres } from './postgres/index.js';
export { sqlite } from './sqlite/index.js';
