/**
 * sqlite: what its declared types become in a restore into another backend
 * (contract/backup.ts crossType), by SQLite's own affinity rules: a declared length
 * was never enforced here, so NVARCHAR(n) holds text and integers hold 64 bits.
 */
import type { CrossType } from '../contract/backup.js';

export function crossType(native: string): CrossType | undefined {
  const t = native.trim().toUpperCase().replace(/\s+/g, ' ');
  // Affinity order of https://www.sqlite.org/datatype3.html §3.1: INT, then CHAR/CLOB/TEXT, then BLOB, REAL.
  if (t.includes('INT')) return { type: 'bigint', lossy: null };
  if (/CHAR|CLOB|TEXT/.test(t)) {
    const n = /^(?:N?VARCHAR|(?:NATIONAL )?(?:CHARACTER|CHAR) VARYING|VARYING CHARACTER)\s*\(\s*(\d+)\s*\)$/.exec(t);
    // A declared length becomes the target's limit: SQLite never checked it, so a longer value fails the load (nothing restored).
    return { type: n ? `varchar(${n[1]})` : 'text', lossy: null };
  }
  if (/REAL|FLOA|DOUB/.test(t)) return { type: 'double', lossy: null };
  return undefined;
}
