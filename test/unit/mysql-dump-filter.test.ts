/**
 * mariadb-dump prints a default taken from a sequence with the source's database
 * (`nextval(`src`.`s`)`): the native backup writes column definitions without it, so a
 * copy restored elsewhere takes from its own sequence. Rows pass as they came, however
 * the stream is cut.
 */
import { describe, expect, it } from 'vitest';
import { unqualifySequences } from '../../src/core/backends/mysql/dump-filter.js';

const DUMP = [
  'CREATE TABLE `o` (',
  '  `id` bigint(20) NOT NULL DEFAULT nextval(`src`.`s`),',
  '  `n` int DEFAULT NULL',
  ') ENGINE=InnoDB;',
  "INSERT INTO `o` VALUES (1,'  `x` DEFAULT nextval(`src`.`s`)'),",
  "('  `y` nextval(`src`.`s`)'),",
  "(3,'nextval(`src`.`s`)');",
  '  `z` int DEFAULT nextval(`src`.`t`)',
].join('\n');
const WANT = DUMP.replace('DEFAULT nextval(`src`.`s`),', 'DEFAULT nextval(`s`),').replace('nextval(`src`.`t`)', 'nextval(`t`)');

async function through(input: string, size: number): Promise<string> {
  const t = unqualifySequences('src');
  const out: Buffer[] = [];
  t.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise((r) => t.on('end', r));
  const b = Buffer.from(input);
  for (let i = 0; i < b.length; i += size) t.write(b.subarray(i, i + size));
  t.end();
  await ended;
  return Buffer.concat(out).toString();
}

describe('mariadb-dump output: sequence defaults lose the source database', () => {
  it.each([1, 2, 3, 4, 7, 13, 64, 100_000])('in chunks of %i bytes: column lines rewritten, rows untouched', async (size) => {
    expect(await through(DUMP, size)).toBe(WANT);
  });
  it('a dump without sequence defaults comes out byte for byte', async () => {
    const plain = 'CREATE TABLE `t` (\n  `a` int\n);\nINSERT INTO `t` VALUES (1),\n(2);\n';
    expect(await through(plain, 5)).toBe(plain);
  });
});
