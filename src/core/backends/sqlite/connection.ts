/** sqlite: the connection part of the backend module (contract/connection.ts). */
import type { ConnectionSupport } from '../contract/connection.js';

export const connection: ConnectionSupport = {};
