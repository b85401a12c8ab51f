/**
 * mysql: mariadb-dump's output on its way to the file. MariaDB prints a column default
 * that takes from a sequence with the sequence's database (`DEFAULT nextval(`src`.`s`)`),
 * so a copy restored into another database would keep taking keys from the source's
 * sequence. Column definition lines (two spaces and a backtick: mariadb-dump escapes
 * every newline inside a value, so a row never starts a line that way) lose that
 * qualifier; everything else passes through as it came, byte for byte.
 */
import { Transform, type TransformCallback } from 'node:stream';

const NL = 0x0a;
const COLUMN_LINE = Buffer.from('  `');

export function unqualifySequences(database: string): Transform {
  const qualified = `nextval(\`${database.replaceAll('`', '``')}\`.`;
  const needle = Buffer.from(qualified);
  // The start of a line not yet ended, while it may still be a column definition.
  let head: Buffer | null = Buffer.alloc(0);
  const fix = (line: Buffer): Buffer => (line.subarray(0, 3).equals(COLUMN_LINE) && line.includes(needle) ? Buffer.from(line.toString('utf8').replaceAll(qualified, 'nextval(')) : line);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      // Most chunks (rows) have nothing to change: only the state of their last line matters.
      if (!head?.length && !chunk.includes(needle)) {
        const last = chunk.lastIndexOf(NL);
        if (last === -1 && head === null) return done(null, chunk);
        const tail = chunk.subarray(last + 1);
        const open = tail.length < 3 ? COLUMN_LINE.subarray(0, tail.length).equals(tail) : tail.subarray(0, 3).equals(COLUMN_LINE);
        head = open ? Buffer.from(tail) : null;
        return done(null, open ? chunk.subarray(0, last + 1) : chunk);
      }
      const out: Buffer[] = [];
      let at = 0;
      while (at < chunk.length) {
        const nl = chunk.indexOf(NL, at);
        const end = nl === -1 ? chunk.length : nl + 1;
        const piece = chunk.subarray(at, end);
        if (head === null) out.push(piece); // the rest of a line that is no column definition
        else {
          head = Buffer.concat([head, piece]);
          // Decided once it is a whole line, or long enough to see it is no column definition.
          if (nl !== -1 || (head.length >= 3 && !head.subarray(0, 3).equals(COLUMN_LINE))) {
            out.push(nl !== -1 ? fix(head) : head);
            head = nl !== -1 ? Buffer.alloc(0) : null;
          }
        }
        if (nl !== -1 && head === null) head = Buffer.alloc(0);
        at = end;
      }
      done(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      done(null, head?.length ? fix(head) : undefined);
    },
  });
}

/** The session mode a mariadb-dump file sets for its rows (its header, line 16 or so). */
const DUMP_MODE = "SQL_MODE='NO_AUTO_VALUE_ON_ZERO'";
/** Where the header must have set it by, or the file was not written by mariadb-dump as we know it. */
const HEADER_BYTES = 16 * 1024;

/**
 * A dump on its way to the client, its session mode also allowing invalid dates: a source in
 * ALLOW_INVALID_DATES mode (Northwind's script runs in it) keeps '2024-02-30', which the
 * dump's own mode stores as 0000-00-00 with only a warning nobody reads. Nothing else
 * changes: the mode stays non-strict, as the dump asks (an ENUM's '' error value loads as
 * itself). Only the header's own SET is changed, once.
 */
export function allowInvalidDates(): Transform {
  let head: Buffer | null = Buffer.alloc(0);
  const needle = Buffer.from(DUMP_MODE);
  const release = (buffered: Buffer): Buffer => {
    const at = buffered.indexOf(needle);
    return at === -1 ? buffered : Buffer.concat([buffered.subarray(0, at), Buffer.from("SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'"), buffered.subarray(at + needle.length)]);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (head === null) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < HEADER_BYTES && !head.includes(needle)) return done();
      const out = release(head);
      head = null;
      done(null, out);
    },
    flush(done: TransformCallback) {
      done(null, head?.length ? release(head) : undefined);
    },
  });
}
