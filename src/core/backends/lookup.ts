/**
 * What derives from the list of backends (index.ts): their names as a type and as a
 * tuple for zod enums, and the module of a name read from configuration or a manifest.
 */
import * as listed from './index.js';
import type { BackendModule } from './types.js';

type Listed = typeof listed;
export type Backend = Listed[keyof Listed]['name'];
/**
 * A module typed `: BackendModule` (not `as const satisfies BackendModule<'name'>`) would
 * widen `Backend` to string and silently end every check the type gives: refuse it here.
 */
const NAMES_ARE_LITERAL: string extends Backend ? never : true = true;
void NAMES_ARE_LITERAL;

const MODULES: readonly BackendModule[] = Object.values(listed);

/** Every backend's name, in alphabetical order (zod enums, listings): a module namespace lists its exports sorted. */
export const BACKEND_NAMES = MODULES.map((m) => m.name) as [Backend, ...Backend[]];

const BY_NAME = new Map<string, BackendModule>(MODULES.map((m) => [m.name, m]));

/** "MySQL/MariaDB, PostgreSQL and SQLite": the backends as a sentence names them. */
export const backendLabels = (): string => {
  const labels = MODULES.map((m) => m.label);
  return labels.length > 1 ? `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}` : labels.join('');
};

/** Whether a string names a backend (manifests and other input read back). */
export const isBackend = (name: string): name is Backend => BY_NAME.has(name);

/** The module of a backend named in configuration, a manifest or a connection. */
export function backendModule(name: Backend): BackendModule {
  const m = BY_NAME.get(name);
  if (!m) throw new Error(`unknown backend ${JSON.stringify(name)}`);
  return m;
}

export type { BackendModule } from './types.js';
