/** SPEC.md's table of contents is written from its headings (scripts/spec-toc.mjs); it must match them. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('SPEC.md table of contents', () => {
  it('lists every section heading as it is now', () => {
    const r = spawnSync(process.execPath, ['scripts/spec-toc.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
