/**
 * Where dist/server.js (start.ts) leaves how it compiled the server's bundle, for the
 * server's 'ready' log (server.ts): `used`, `refused` or `none`. A global symbol, since the
 * launcher and the bundle are two separately built files.
 */
export const CODE_CACHE_STATE = Symbol.for('codomyrmex-db.code-cache');
