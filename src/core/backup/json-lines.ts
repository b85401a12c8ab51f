/**
 * A portable backup's rows, JSON arrays one a line (LoadBatch.json), read field by field
 * into a backend's load form without a value made of each: the loads that take text
 * (PostgreSQL's COPY text, MySQL's INSERT tuples) copy a string's body and a number's
 * digits as written, and parse only what their form reads otherwise.
 */

/** How a backend writes the fields of one row. */
export interface JsonLineForm {
  /** NULL. */
  readonly null: string;
  /** Between two fields of a row. */
  readonly separator: string;
  /** Matches a backslash escape of JSON that the backend reads otherwise (then the string is parsed). */
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
 * object, a damaged line): the caller parses those. A number goes as written (its exact
 * text); one with an exponent as JSON.parse and String spell it.
 */
export function jsonLineFields(text: string, width: number, form: JsonLineForm, row: (fields: string) => void): number | null {
  const len = text.length;
  let rows = 0;
  let pos = 0;
  let slash = text.indexOf('\\');
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
        pos = end + 1;
      } else {
        let e = pos;
        let exp = false;
        let numeric = true; // digits, sign, point, exponent: the characters of a JSON number
        for (let c = text.charCodeAt(e); e < len && c !== 44 && c !== 93; c = text.charCodeAt(++e)) {
          if (c === 101 || c === 69) exp = true;
          else if (!((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 43)) numeric = false;
        }
        const tok = text.slice(pos, e);
        const first = tok.charCodeAt(0);
        if (tok === 'null') out += form.null;
        else if (tok === 'true' || tok === 'false') out += tok;
        else if (!numeric || !(first === 45 || (first >= 48 && first <= 57))) return null;
        else if (!exp) out += tok;
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
