/**
 * The list of backends: the only place that names them all. Types, zod enums and the
 * registry's lookups come from here; adding a backend is its folder plus one line below.
 */
import { mysql } from './mysql/index.js';
import { postgres } from './postgres/index.js';
import { sqlite } from './sqlite/index.js';
import type { BackendModule } from './types.js';

const MODULES = [
  postgres,
  mysql,
  sqlite,
] as const;

export type Backend = (typeof MODULES)[number]['name'];

/** Every backend's name, in the order above (zod enums, listings). */
export const BACKEND_NAMES = MODULES.map((m) => m.name) as [Backend, ...Backend[]];

const BY_NAME = new Map<string, BackendModule>(MODULES.map((m) => [m.name, m]));

/** The module of a backend named in configuration, a manifest or a connection. */
export function backendModule(name: Backend): BackendModule {
  const m = BY_NAME.get(name);
  if (!m) throw new Error(`unknown backend ${JSON.stringify(name)}`);
  return m;
}

/** Whether a string names a backend (manifests and other input read back). */
export const isBackend = (name: string): name is Backend => BY_NAME.has(name);

export type { BackendModule } from './types.js';
