/**
 * Checks on what the user wrote that the config schema cannot see: a name given twice in
 * one source. JSON.parse keeps the last of two equal keys, and a repeated `--connection`
 * would quietly replace the first; either is a mistake that picks a database silently.
 * Across sources the documented precedence applies (flag over DATABASE_URL over file).
 */
import { DbError } from './errors.js';

/**
 * Keys that appear twice in one object of a JSON text, as paths (`connections.pg`). The
 * text is already valid JSON (JSON.parse accepted it), so a small scanner suffices:
 * strings, nesting, and whether a string sits in key position.
 */
export function duplicateJsonKeys(text: string): string[] {
  const found: string[] = [];
  const stack: Array<{ keys: Set<string> | null; path: string; key: string | null }> = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) found.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    const top = stack[stack.length - 1];
    const childPath = top ? (top.keys ? (top.path ? `${top.path}.${top.key}` : String(top.key)) : top.path) : '';
    if (ch === '{') { stack.push({ keys: new Set(), path: childPath, key: null }); expectKey = true; }
    else if (ch === '[') stack.push({ keys: null, path: childPath, key: null });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') expectKey = Boolean(stack[stack.length - 1]?.keys);
    i++;
  }
  return found;
}

/** Refuses a config file with a key given twice (a connection above all). */
export function refuseDuplicateKeys(text: string, path: string): void {
  const dup = duplicateJsonKeys(text);
  if (dup.length) {
    throw new DbError('INVALID_INPUT', `config file ${path} gives ${dup.map((d) => `"${d}"`).join(', ')} twice; JSON would keep only the last: remove one`, { field: dup[0], duplicates: dup });
  }
}

/** Refuses a connection name given twice in --connection flags. */
export function refuseDuplicateFlags(names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new DbError('INVALID_INPUT', `connection "${n}" is given twice with --connection; each name may appear once`, { connection: n });
    seen.add(n);
  }
}
