/**
 * The recipe for a new backend, proven with the compiler: a copy of src/ gets the stub
 * backend of test/fixtures/stub-backend/ as its folder and one line in
 * backends/index.ts, and type-checks as it is (no table, switch or list elsewhere needs
 * the new name). Then every piece of the stub is taken away in turn, and tsc must name
 * each missing piece in an error of its own: what a new backend still lacks is listed by
 * the compiler, not found at run time.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const FIXTURE = join(ROOT, 'test/fixtures/stub-backend/index.ts');
const WORK = join(ROOT, '.tmp', `backend-recipe-${process.pid}`);

/** Every member path of the stub's object literal, nested objects included (they are pieces too). */
function pieces(): string[][] {
  const sf = ts.createSourceFile(FIXTURE, readFileSync(FIXTURE, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[][] = [];
  const walk = (o: ts.ObjectLiteralExpression, path: string[]): void => {
    for (const p of o.properties) {
      if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name)) continue;
      out.push([...path, p.name.text]);
      if (ts.isObjectLiteralExpression(p.initializer)) walk(p.initializer, [...path, p.name.text]);
    }
  };
  const find = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && n.name.getText(sf) === 'stub' && n.initializer) {
      let e: ts.Expression = n.initializer;
      while (ts.isSatisfiesExpression(e) || ts.isAsExpression(e)) e = e.expression;
      if (ts.isObjectLiteralExpression(e)) walk(e, []);
    }
    ts.forEachChild(n, find);
  };
  find(sf);
  return out;
}

/** One block per piece: the stub's object at that level without it, checked against the interface's type there. */
function lackingFile(all: string[][]): { text: string; lineOf: Map<string, number> } {
  const lines = ["import type { BackendModule } from '../types.js';", "import { stub } from './index.js';", '', "type M = BackendModule<'stub'>;"];
  const lineOf = new Map<string, number>();
  for (const path of all) {
    const parent = path.slice(0, -1);
    const value = ['stub', ...parent].join('.');
    const type = `M${parent.map((k) => `['${k}']`).join('')}`;
    lineOf.set(path.join('.'), lines.length + 1);
    lines.push(`{ const { ${path[path.length - 1]}: _gone, ...rest } = ${value}; void (rest satisfies ${type}); }`);
  }
  return { text: lines.join('\n') + '\n', lineOf };
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('adding a backend', () => {
  it('needs its folder and one line in backends/index.ts; tsc names every piece it lacks', () => {
    mkdirSync(WORK, { recursive: true });
    cpSync(join(ROOT, 'src'), join(WORK, 'src'), { recursive: true });
    const options = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions;
    writeFileSync(join(WORK, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src'] }));
    const folder = join(WORK, 'src/core/backends/stub');
    mkdirSync(folder);
    cpSync(FIXTURE, join(folder, 'index.ts'));
    appendFileSync(join(WORK, 'src/core/backends/index.ts'), "export { stub } from './stub/index.js';\n");
    const all = pieces();
    expect(all.length).toBeGreaterThan(40);
    const { text, lineOf } = lackingFile(all);
    writeFileSync(join(folder, 'lacking.ts'), text);

    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', WORK, '--pretty', 'false', '--noErrorTruncation'], { encoding: 'utf8', cwd: WORK });
    // Errors start a line with the file; their elaboration follows, indented.
    const errors: Array<{ file: string; line: number; text: string }> = [];
    for (const l of tsc.stdout.split('\n')) {
      const m = /^(.+?)\((\d+),\d+\): error (.*)$/.exec(l);
      if (m) errors.push({ file: m[1], line: Number(m[2]), text: m[3] });
      else if (l.trim() && errors.length) errors[errors.length - 1].text += `\n${l}`;
    }
    const elsewhere = errors.filter((e) => !e.file.endsWith('stub/lacking.ts'));
    expect(elsewhere.map((e) => `${e.file}:${e.line} ${e.text}`)).toEqual([]);

    const unnamed: string[] = [];
    for (const [piece, line] of lineOf) {
      const name = piece.split('.').pop();
      if (!errors.some((e) => e.line === line && e.text.includes(`'${name}'`))) unnamed.push(piece);
    }
    expect(unnamed).toEqual([]);
  }, 120_000);
});
