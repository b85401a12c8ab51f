/**
 * mysql: what its native types become in a restore into another backend
 * (contract/backup.ts crossType). Integers go to the narrowest signed portable integer
 * that holds every value, so an AUTO_INCREMENT key stays an identity there; the range
 * check the narrower or unsigned type made is what is lost, and it is said.
 */
import type { CrossType } from '../contract/backup.js';

const WIDER: Record<string, { signed: string; unsigned: string }> = {
  tinyint: { signed: 'smallint', unsigned: 'smallint' },
  smallint: { signed: 'smallint', unsigned: 'integer' },
  mediumint: { signed: 'integer', unsigned: 'integer' },
  int: { signed: 'integer', unsigned: 'bigint' },
  integer: { signed: 'integer', unsigned: 'bigint' },
  bigint: { signed: 'bigint', unsigned: 'decimal(20,0)' },
};

export function crossType(native: string): CrossType | undefined {
  const t = native.trim().toLowerCase().replace(/\s+/g, ' ');
  const int = /^(tinyint|smallint|mediumint|int|integer|bigint)(?:\(\d+\))?( unsigned)?( zerofill)?$/.exec(t);
  if (int) {
    const [, base, unsigned, zerofill] = int;
    const type = WIDER[base][unsigned ? 'unsigned' : 'signed'];
    const lost = [
      ...(type !== base ? [`becomes ${type}: its range is not enforced`] : []),
      ...(zerofill ? ['loses its ZEROFILL padding'] : []),
    ];
    return { type, lossy: lost.length ? lost.join('; ') : null };
  }
  if (/^year(\(4\))?$/.test(t)) return { type: 'smallint', lossy: 'becomes smallint: the range 1901-2155 is not enforced' };
  return undefined;
}
