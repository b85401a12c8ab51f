/**
 * A portable backup's rows, JSON arrays one a line (LoadBatch.json), read field by field
 * into a backend's load form without a value made of each: the loads that take text
 * (PostgreSQL's COPY text, MySQL's INSERT tuples) copy a string's body and a number's
 * digits as written, and parse only what their form reads otherwise.
 */

/** A raw control character but the newline (which separates lines, and is refused inside a string below): JSON has none outside strings, and strings escape them. */
const CONTROL = /[\x00-\x09\x0b-\x1f]/;

const digit = (c: number): boolean => c >= 48 && c <= 57;

/** Where the JSON number starting at `pos` ends: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; -1 when none does. */
function numberEnd(text: string, pos: number): number {
  let e = pos;
  if (text.charCodeAt(e) === 45 /* - */) e++;
  const first = text.charCodeAt(e);
  if (first === 48 /* 0 */) e++;
  else if (first >= 49 && first <= 57) while (digit(text.charCodeAt(++e)));
  else return -1;
  if (text.charCodeAt(e) === 46 /* . */) {
    if (!digit(text.charCodeAt(++e))) return -1;
    while (digit(text.charCodeAt(++e)));
  }
  const x = text.charCodeAt(e);
  if (x === 101 || x === 69 /* e E */) {
    const sign = text.charCodeAt(++e);
    if (sign === 43 || sign === 45) e++;
    if (!digit(text.charCodeAt(e))) return -1;
    while (digit(text.charCodeAt(++e)));
  }
  return e;
}

/** How a backend writes the fields of one row. */
export interface JsonLineForm {
  /** NULL. */
  readonly null: string;
  /** Between two fields of a row. */
  readonly separator: string;
  /**
   * Matches a backslash escape that the backend reads otherwise than JSON (then the string is
   * parsed, and refused if it is not JSON): it must match every escape but JSON's own short
   * ones (\" \\ \/ \b \f \n \r \t), \u and anything invalid included.
   */
  readonly unlike: RegExp;
  /** A string's body between its quotes, holding no escape `unlike` matches, as field k. */
  body(body: string, k: number): string;
  /** A string JSON.parse made (its escapes differ in the backend), as field k. */
  value(value: string, k: number): string;
}

/**
 * Calls `row` with each line's fields written in `form` and joined by its separator, and
 * returns the number of rows; null for anything else than arrays of `width` strings,
 * numbers, true, false and null, with no whitespace, joined by single newlines (an
 * object, a damaged line): the caller parses those, and JSON.parse refuses what JSON does
 * not allow. Whatever is taken here is JSON: a number by JSON's grammar (not `01`, `1.`,
 * `-.5` or `9-10`, which a database would read as something), no raw control character
 * anywhere (a string must escape them). A number goes as written (its exact text); one
 * with an exponent as JSON.parse and String spell it.
 */
export function jsonLineFields(text: string, width: number, form: JsonLineForm, row: (fields: string) => void): number | null {
  // A row of no values ([]) is left to the parse: the loop below would check no `]`.
  if (width < 1 || CONTROL.test(text)) return null;
  const len = text.length;
  let rows = 0;
  let pos = 0;
  let slash = text.indexOf('\\');
  let newline = text.indexOf('\n');
  while (pos < len) {
    if (text.charCodeAt(pos++) !== 91 /* [ */) return null;
    let out = '';
    for (let k = 0; k < width; k++) {
      if (k) out += form.separator;
      if (text.charCodeAt(pos) === 34 /* " */) {
        let end = text.indexOf('"', pos + 1);
        if (end < 0) return null;
        if (slash !== -1 && slash < pos) slash = text.indexOf('\\', pos);
        if (slash === -1 || slash > end) {
          out += form.body(text.slice(pos + 1, end), k);
        } else {
          for (;;) { // an escaped quote does not end the string
            let j = end - 1;
            while (text.charCodeAt(j) === 92) j--;
            if ((end - 1 - j) % 2 === 0) break;
            end = text.indexOf('"', end + 1);
            if (end < 0) return null;
          }
          const body = text.slice(pos + 1, end);
          if (!form.unlike.test(body)) out += form.body(body, k);
          else {
            let v: unknown;
            try { v = JSON.parse(text.slice(pos, end + 1)); } catch { return null; }
            if (typeof v !== 'string') return null;
            out += form.value(v, k);
          }
        }
        // A newline ends the line: one inside a string is raw, not JSON.
        if (newline !== -1 && newline < pos) newline = text.indexOf('\n', pos);
        if (newline !== -1 && newline < end) return null;
        pos = end + 1;
      } else if (text.startsWith('null', pos)) {
        out += form.null;
        pos += 4;
      } else if (text.startsWith('true', pos)) {
        out += 'true';
        pos += 4;
      } else if (text.startsWith('false', pos)) {
        out += 'false';
        pos += 5;
      } else {
        const e = numberEnd(text, pos);
        if (e < 0) return null;
        const tok = text.slice(pos, e);
        if (!tok.includes('e') && !tok.includes('E')) out += tok;
        else {
          const v = Number(tok);
          if (!Number.isFinite(v)) return null;
          out += String(v);
        }
        pos = e;
      }
      if (text.charCodeAt(pos++) !== (k === width - 1 ? 93 /* ] */ : 44 /* , */)) return null;
    }
    // Lines are joined by \n, none after the last (an empty line is not a row).
    if (pos < len && (text.charCodeAt(pos++) !== 10 || pos === len)) return null;
    row(out);
    rows++;
  }
  return rows;
}
