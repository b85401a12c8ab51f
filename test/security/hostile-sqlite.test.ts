/**
 * Hostile SQL through the MCP tools on SQLite, read-only and read-write (run-hostile.ts):
 * zero effects that escape, zero writes through read-only mode.
 */
import { hostileSuite } from './run-hostile.js';

hostileSuite('sqlite');
