/** SQLite URLs: sqlite:relative.db, sqlite:///absolute.db, sqlite::memory:. They name a file and nothing else. */
import { isAbsolute, resolve } from 'node:path';
import { DbError } from '../../../errors.js';
import type { ParsedUrl } from '../contract/connection.js';

/** null: not a SQLite URL. Otherwise its file, absolute (against baseDir) or ':memory:'. */
export function parseSqliteUrl(url: string, baseDir: string): ParsedUrl | null {
  const m = /^sqlite:(.*)$/i.exec(url);
  if (!m) return null;
  const rest = m[1];
  // better-sqlite3 is built without URI filenames: a `?mode=ro` would silently become part of the file name.
  if (/[?#]/.test(rest)) throw new DbError('INVALID_INPUT', 'sqlite URLs take no query parameters (mode, vfs, immutable, nolock, cache ... are not accepted; use read_only for a read-only connection), and a file name may not contain ? or #', { accepted: [] });
  if (rest === ':memory:' || rest === '//:memory:') return { file: ':memory:' };
  if (rest.startsWith('///')) return { file: rest.slice(2) };
  if (rest.startsWith('//')) throw new DbError('INVALID_INPUT', 'sqlite URLs are sqlite:relative.db, sqlite:///absolute.db or sqlite::memory:');
  if (!rest) throw new DbError('INVALID_INPUT', 'a sqlite URL needs a file: sqlite:relative.db, sqlite:///absolute.db or sqlite::memory:');
  return { file: isAbsolute(rest) ? rest : resolve(baseDir, rest) };
}
