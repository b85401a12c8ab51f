/**
 * postgres: the sequence behind an identity or a serial column, as its `unportable` says
 * it (introspect.ts) and as a restore from the portable definition gives it back
 * (backup-sql.ts carryUnportable). A table made from the portable definition has an
 * identity of the column's type with every option at its default; the phrase names the
 * options that differ (`sequence START WITH 10001 INCREMENT BY 3`), and a serial column
 * (an owned sequence behind a nextval default) says it is one.
 */

/** pg_sequence's options, as text (bigint). */
export interface SequenceOptions {
  /** format_type of the sequence's own type (smallint, integer, bigint). */
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
}

const RANGE: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/** What CREATE SEQUENCE … AS type INCREMENT BY increment gives for the bounds when they are not said. */
function bounds(type: string, increment: bigint): { min: bigint; max: bigint } | null {
  const r = RANGE[type];
  if (!r) return null;
  return increment > 0n ? { min: 1n, max: r[1] } : { min: r[0], max: -1n };
}

const PREFIX = 'sequence ';
export const SERIAL_PREFIX = 'serial (';

/** The phrase of a serial column (not an identity: a table made from the portable definition would make one). */
export const serialPhrase = (sequence: string): string => `${SERIAL_PREFIX}sequence ${sequence} owned by the column behind its nextval default, not an identity)`;

/** The options of `o` that differ from an identity's defaults, as one phrase; null when none do. */
export function sequencePhrase(o: SequenceOptions, columnType: string): string | null {
  const inc = BigInt(o.increment);
  const b = bounds(o.type, inc);
  if (!b) return null;
  const [min, max] = [BigInt(o.min), BigInt(o.max)];
  const parts: string[] = [];
  // The start's default is the low bound going up, the high bound going down.
  if (BigInt(o.start) !== (inc > 0n ? min : max)) parts.push(`START WITH ${o.start}`);
  if (inc !== 1n) parts.push(`INCREMENT BY ${o.increment}`);
  if (min !== b.min) parts.push(`MINVALUE ${o.min}`);
  if (max !== b.max) parts.push(`MAXVALUE ${o.max}`);
  if (o.cache !== '1') parts.push(`CACHE ${o.cache}`);
  if (o.cycle) parts.push('CYCLE');
  if (!parts.length) return null;
  // A sequence of another type than its column (a serial made before PostgreSQL 10 is bigint): said, and not carried (its bounds are the type's).
  return `${PREFIX}${o.type !== columnType ? `AS ${o.type} ` : ''}${parts.join(' ')}`;
}

const OPTION = /(START WITH|INCREMENT BY|MINVALUE|MAXVALUE|CACHE) (-?\d{1,19})(?: |$)|CYCLE$|AS ([a-z]+) /y;

/** A phrase of sequencePhrase read back: the options it names; null when it is not one. */
export function parseSequencePhrase(phrase: string): { as?: string; options: Record<string, bigint>; cycle: boolean } | null {
  if (!phrase.startsWith(PREFIX)) return null;
  const out = { options: {} as Record<string, bigint>, cycle: false, as: undefined as string | undefined };
  OPTION.lastIndex = PREFIX.length;
  while (OPTION.lastIndex < phrase.length) {
    const m = OPTION.exec(phrase);
    if (!m) return null;
    if (m[1]) out.options[m[1]] = BigInt(m[2]);
    else if (m[3]) out.as = m[3];
    else out.cycle = true;
  }
  return out.as === undefined ? { options: out.options, cycle: out.cycle } : out;
}

/**
 * The clauses of ALTER TABLE … ALTER COLUMN that give an identity of `columnType`, made
 * with every option at its default, the options `phrase` names (the others at their
 * defaults for its direction), then restart it; null when the phrase is not one this can
 * carry (another sequence type, a bound outside the column's type).
 */
export function identityOptionsSql(phrase: string, columnType: string): string | null {
  const p = parseSequencePhrase(phrase);
  if (!p || p.as !== undefined || !RANGE[columnType]) return null;
  const o = p.options;
  const inc = o['INCREMENT BY'] ?? 1n;
  const b = bounds(columnType, inc);
  if (!b || inc === 0n) return null;
  const [lo, hi] = RANGE[columnType];
  const min = o.MINVALUE ?? b.min;
  const max = o.MAXVALUE ?? b.max;
  if (min < lo || max > hi || min > max) return null;
  const start = o['START WITH'] ?? (inc > 0n ? min : max);
  return [`SET INCREMENT BY ${inc}`, `SET MINVALUE ${min}`, `SET MAXVALUE ${max}`, `SET START WITH ${start}`,
    `SET CACHE ${o.CACHE ?? 1n}`, `SET ${p.cycle ? '' : 'NO '}CYCLE`, 'RESTART'].join(' ');
}
