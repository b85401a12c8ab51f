/**
 * Native formats (format: "native"): the backend's own tools behind the same manifest.
 */
import type { ServerContext } from '../../context.js';
import { DbError } from '../../errors.js';
import type { Target } from '../schema/manager.js';
import type { CreateArgs, Progress } from './create.js';
import type { Manifest } from './manifest.js';

export async function createNative(_ctx: ServerContext, t: Target, _dir: string, _name: string, _args: CreateArgs, _p: Progress): Promise<Manifest> {
  throw new DbError('UNSUPPORTED', `format "native" is not available for ${t.dialect.backend} yet`);
}

export async function restoreNative(_ctx: ServerContext, t: Target, _b: { realDir: string; name: string; path: string; manifest: Manifest }, _mode: string, _p: Progress): Promise<never> {
  throw new DbError('UNSUPPORTED', `native backups cannot be restored into ${t.dialect.backend} yet`);
}
