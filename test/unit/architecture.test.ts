/**
 * What keeps backends in their folders (issue 18), read from the source with the
 * TypeScript compiler's own parser: outside src/core/backends/ no code names a backend
 * to decide something (comparisons, case labels, tables or lists keyed by backend
 * names, Record/mapped types over Backend); no import cycles anywhere under src/ (type
 * imports count). The rules are checked on the tree as it is, and on planted
 * violations, so a rule that stopped matching would fail here too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES } from '../../src/core/backends/lookup.js';

const ROOT = resolve(__dirname, '../..');
const SRC = join(ROOT, 'src');
const BACKENDS_DIR = join(SRC, 'core', 'backends');
/** Backend names, and MySQL's flavour, which is a backend decision too. */
const NAMES = new Set<string>([...BACKEND_NAMES, 'mariadb']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const nameOf = (n: ts.Node): string | null =>
  ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) ? n.text : null;
const namesBackend = (n: ts.Node): boolean => {
  const t = nameOf(n);
  return t !== null && NAMES.has(t);
};
const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

/** The text of a string, template piece or regular expression literal; null for anything else. */
const literalText = (n: ts.Node): string | null =>
  ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n) || ts.isRegularExpressionLiteral(n) ? n.text : null;
/**
 * Whether a literal names a backend: the name itself (any case, so a constant holding it
 * is caught where it is written), a URL scheme (`postgres:`), or a pattern over names.
 */
const namesInText = (text: string): boolean => {
  const t = text.toLowerCase();
  return [...NAMES].some((name) => t === name || new RegExp(`^${name}:(?!\\s)`).test(text) || (text.startsWith('/') && new RegExp(`\\b${name}\\b`, 'i').test(text)));
};
/** Literals outside the backend folders that must name one, each with its reason. */
const ALLOWED: Array<{ file: string; text: RegExp; why: string }> = [
  { file: 'src/config.ts', text: /^sqlite:\/\/$/, why: 'the default connection is an embedded SQLite file (a product decision, README)' },
];
const allowed = (file: string, text: string): boolean => ALLOWED.some((a) => file.endsWith(a.file) && a.text.test(text));

/** Every place in one file's text where code decides by a backend's name. */
export function violations(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const at = (n: ts.Node, what: string) => out.push(`${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: ${what}: ${n.getText(sf).slice(0, 100)}`);
  const propName = (p: ts.ObjectLiteralElementLike): string | null =>
    p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : null;
  const visit = (n: ts.Node): void => {
    if (ts.isBinaryExpression(n) && EQUALITY.has(n.operatorToken.kind) && (namesBackend(n.left) || namesBackend(n.right))) at(n, 'compares a backend name');
    else if (ts.isCaseClause(n) && namesBackend(n.expression)) at(n, 'case on a backend name');
    else if (ts.isObjectLiteralExpression(n) && n.properties.filter((p) => NAMES.has(propName(p) ?? '')).length >= 2) at(n, 'object keyed by backend names');
    else if (ts.isArrayLiteralExpression(n) && n.elements.filter(namesBackend).length >= 2) at(n, 'list of backend names');
    else if (ts.isTypeReferenceNode(n) && n.typeName.getText(sf) === 'Record' && n.typeArguments?.[0] && /\bBackend\b/.test(n.typeArguments[0].getText(sf))) at(n, 'Record over backends');
    else if (ts.isMappedTypeNode(n) && n.typeParameter.constraint && /\bBackend\b/.test(n.typeParameter.constraint.getText(sf))) at(n, 'mapped type over backends');
    else if (ts.isUnionTypeNode(n) && n.types.filter((t) => ts.isLiteralTypeNode(t) && namesBackend(t.literal)).length >= 2) at(n, 'union of backend names');
    else if (literalText(n) !== null && namesInText(literalText(n)!) && !allowed(file, literalText(n)!)) at(n, 'a backend named in a literal');
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Import cycles among the files, type-only imports included. */
export function cycles(files: string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    graph.set(f, info.importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts'))).filter((t) => graph.has(t) || files.includes(t)));
  }
  // Tarjan's strongly connected components; any with two files or more is a cycle.
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), found: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next); low.set(v, next); next++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(relative(ROOT, w)); } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strong(v);
  return found;
}

describe('backends stay in their folders', () => {
  const files = sources(SRC);

  it('no code outside src/core/backends/ decides by a backend name', () => {
    const found = files.filter((f) => !f.startsWith(BACKENDS_DIR + '/')).flatMap((f) => violations(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('each rule catches what it is for', () => {
    const planted = [
      "if (t.backend === 'postgres') x();",
      "const b = 'mysql' !== flavor;",
      "switch (b) { case 'sqlite': break; }",
      "const T = { postgres: 1, mysql: 2 };",
      "const L = z.enum(['postgres', 'mysql', 'sqlite']);",
      'let r: Record<Backend, string>;',
      'let p: Partial<Record<Backend, string[]>>;',
      'type M = { [K in Backend]: number };',
      "type U = 'postgres' | 'sqlite';",
      "if (info.flavor === 'mariadb') y();",
      "if (url.startsWith('postgres')) x();",
      "const PG = 'postgres';",
      "if (/^mysql/i.test(u)) x();",
      "const u = new URL('mysql://h/db');",
      "if (proto === `sqlite:`) x();",
      "const m = new Map([['postgres', 1]]);",
    ];
    for (const line of planted) expect(violations('planted.ts', line).length, line).toBeGreaterThanOrEqual(1);
    expect(violations('fine.ts', "const c = { backend: m.name, file: ':memory:' }; if (m.name === other.name) z(); const d = 'SQLite: the table was rebuilt';")).toEqual([]);
  });

  it('neutral code reaches the backends only through lookup.ts, types.ts and contract/; no backend folder imports another', () => {
    const found: string[] = [];
    for (const f of files) {
      if (f === join(BACKENDS_DIR, 'index.ts')) continue; // the list: it imports every folder's index.ts
      const own = /src\/core\/backends\/([^/]+)\//.exec(f)?.[1] ?? (f.startsWith(BACKENDS_DIR + '/') ? 'contract' : undefined);
      for (const i of ts.preProcessFile(readFileSync(f, 'utf8'), true, true).importedFiles) {
        if (!i.fileName.startsWith('.')) continue;
        const target = resolve(dirname(f), i.fileName);
        if (!target.startsWith(BACKENDS_DIR + '/')) continue;
        const inside = relative(BACKENDS_DIR, target);
        const folder = inside.includes('/') ? inside.split('/')[0] : null;
        const neutral = folder === null || folder === 'contract';
        if (own === undefined && !neutral && !/^(lookup|types)\.js$/.test(inside)) found.push(`${relative(ROOT, f)} imports backends/${inside}`);
        if (own !== undefined && own !== 'contract' && folder !== null && !neutral && folder !== own) found.push(`${relative(ROOT, f)} imports backends/${inside}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('no import cycles under src/ (type imports count)', () => {
    expect(cycles(files)).toEqual([]);
  });

  it('the cycle finder finds a planted cycle', () => {
    expect(cycles([join(ROOT, 'test/fixtures/cycle/a.ts'), join(ROOT, 'test/fixtures/cycle/b.ts')])).toHaveLength(1);
  });
});
