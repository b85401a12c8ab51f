/**
 * Finding a known secret in text in the forms it comes back in: case-folded
 * (PostgreSQL folds unquoted identifiers: `relation "s3ntinelplain42"`), upper-cased,
 * quoted or escaped (`'pa''ss'`, `pa\'ss`, `"pa""ss"`, JSON `pa\"ss`), percent-encoded
 * (`p%40ss`, in URLs and resource URIs).
 *
 * No regular expressions over the text: it is folded once (lower case, percent-escapes
 * decoded) into a string with a map back to the original offsets, and each form of each
 * secret is found with indexOf. Linear in the text, whatever the secret holds (a secret of
 * quotes in a pattern of alternations would backtrack exponentially).
 */

/** The text folded, and where each folded unit starts in the original (null: offsets are equal). */
interface Folded {
  text: string;
  start: Int32Array | null;
}

/** Bytes of one UTF-8 sequence starting with `lead`, or 0 when it cannot start one. */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead < 0xe0) return 2;
  if (lead >= 0xe0 && lead < 0xf0) return 3;
  if (lead >= 0xf0 && lead < 0xf5) return 4;
  return 0;
}

/** The code point of a well-formed UTF-8 sequence of n bytes at b (shortest form, no surrogates), or -1. */
function decodeOne(bytes: Buffer, b: number, n: number): number {
  if (n === 1) return bytes[b];
  let cp = bytes[b] & (0xff >> (n + 1));
  for (let i = 1; i < n; i++) {
    const c = bytes[b + i];
    if ((c & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = [0, 0, 0x80, 0x800, 0x10000][n];
  return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? -1 : cp;
}

/** Builds the folded text unit by unit, with each unit's original offset. */
class Folder {
  /** The folded text's UTF-16 code units (a string is built once, at the end). */
  private readonly out: Uint16Array;
  /** Offsets in the original text of each folded unit, and one past the end. */
  readonly start: Int32Array;
  private k = 0;
  private readonly lowers = new Map<number, string>();

  /** `capacity`: the text's length lower-cased (percent-decoding only shrinks: %XX is 3 units). */
  constructor(private readonly text: string, capacity: number) {
    this.start = new Int32Array(capacity + 1);
    this.out = new Uint16Array(capacity + 1);
  }

  /** Units that all come from `at` (one decoded or lower-cased character). */
  one(units: string, at: number): void {
    for (let i = 0; i < units.length; i++) { this.out[this.k] = units.charCodeAt(i); this.start[this.k++] = at; }
  }

  /** Plain text, lower-cased; per code point only where lower-casing changes the length. */
  plain(from: number, to: number): void {
    const seg = this.text.slice(from, to);
    const low = seg.toLowerCase();
    if (low.length === seg.length) {
      for (let i = 0; i < low.length; i++) { this.out[this.k] = low.charCodeAt(i); this.start[this.k++] = from + i; }
      return;
    }
    for (let i = from; i < to;) {
      const cp = this.text.codePointAt(i) as number;
      const low = this.lower(cp);
      const width = cp > 0xffff ? 2 : 1;
      // A pair's two units keep their own offsets; a lower case that grew maps to its character.
      for (let u = 0; u < low.length; u++) { this.out[this.k] = low.charCodeAt(u); this.start[this.k++] = i + (width === 2 ? Math.min(u, 1) : 0); }
      i += width;
    }
  }

  /** Lower case of one code point, remembered: ICU per character costs a microsecond. */
  private lower(cp: number): string {
    if (cp < 0x80) return String.fromCharCode(cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
    let low = this.lowers.get(cp);
    if (low === undefined) { low = String.fromCodePoint(cp).toLowerCase(); this.lowers.set(cp, low); }
    return low;
  }

  /** A run of %XX escapes decoded as UTF-8; a byte that starts no character stays as written. */
  percent(at: number, run: string): void {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    for (let b = 0; b < bytes.length;) {
      const n = utf8Length(bytes[b]);
      const cp = n && b + n <= bytes.length ? decodeOne(bytes, b, n) : -1;
      if (cp < 0) {
        this.plain(at + 3 * b, at + 3 * b + 3);
        b += 1;
      } else {
        this.one(this.lower(cp), at + 3 * b);
        b += n;
      }
    }
  }

  done(): Folded {
    this.start[this.k] = this.text.length;
    const text = Buffer.from(this.out.buffer, 0, this.k * 2).toString('utf16le');
    return { text: finalSigma(text), start: this.start };
  }
}

/** Σ lower-cases to ς at the end of a word only: one form, whatever the context. */
const finalSigma = (s: string): string => (s.includes('\u03c2') ? s.replace(/\u03c2/g, '\u03c3') : s);

/** Lower-cases and decodes %XX runs (as UTF-8), keeping the offset of every unit. */
export function fold(text: string, decodePercent = true): Folded {
  const lower = finalSigma(text.toLowerCase());
  if (lower.length === text.length && (!decodePercent || !text.includes('%'))) return { text: lower, start: null };
  const f = new Folder(text, lower.length);
  let at = 0;
  // A scan, not a regular expression: `(?:%XX)+` keeps a backtrack entry per escape.
  for (let p = decodePercent ? text.indexOf('%') : -1; p >= 0; p = text.indexOf('%', p + 1)) {
    let end = p;
    while (end + 2 < text.length && text.charCodeAt(end) === 37 && isHex(text.charCodeAt(end + 1)) && isHex(text.charCodeAt(end + 2))) end += 3;
    if (end === p) continue;
    f.plain(at, p);
    f.percent(p, text.slice(p, end));
    at = end;
    p = end - 1;
  }
  f.plain(at, text.length);
  return f.done();
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The spellings a secret takes in SQL literals and identifiers, escaped strings and JSON, folded. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>();
  for (const base of [secret, secret.toUpperCase()]) {
    const s = fold(base).text;
    forms.add(s);
    forms.add(s.replace(/'/g, "''"));
    forms.add(s.replace(/"/g, '""'));
    forms.add(s.replace(/`/g, '``'));
    forms.add(s.replace(/[\\'"]/g, (c) => `\\${c}`));
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1));
    // Percent-encoded as written, for the text searched undecoded (a `%0` before it shifts the decoding).
    for (const encode of [encodeURIComponent, encodeURI]) {
      try { forms.add(encode(base).toLowerCase()); } catch { /* a lone surrogate: no encoding */ }
    }
  }
  return [...forms].filter((f) => f.length > 0);
}

/** Original [from, to) ranges holding any of the forms, merged. */
export function secretRanges(text: string, forms: readonly string[]): Array<[number, number]> {
  if (forms.length === 0 || text.length === 0) return [];
  const found: Array<[number, number]> = [];
  // Decoded and as written: `%0abc1` decodes to a newline and `bc1`, hiding a secret `abc1`
  // that stands there literally after a `%0`.
  const folds = text.includes('%') ? [fold(text), fold(text, false)] : [fold(text)];
  for (const f of folds) {
    const at = (i: number): number => (f.start ? f.start[i] : i);
    for (const form of forms) {
      // Non-overlapping: what an occurrence overlapping a found one leaves visible is cut short
      // by its `***`; overlapping search would be quadratic on a text of repeats of the secret.
      for (let i = f.text.indexOf(form); i >= 0; i = f.text.indexOf(form, i + form.length)) found.push([at(i), at(i + form.length)]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of found) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** The text with every range replaced by `***`. */
export function replaceRanges(text: string, ranges: ReadonlyArray<[number, number]>): string {
  if (ranges.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [from, to] of ranges) { out += text.slice(at, from) + '***'; at = to; }
  return out + text.slice(at);
}
