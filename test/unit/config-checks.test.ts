/**
 * The duplicate-key scanner of config files and the readable log line formatter.
 */
import { describe, expect, it } from 'vitest';
import { duplicateJsonKeys } from '../../src/config-checks.js';
import { prettyLine } from '../../src/log-pretty.js';

describe('duplicateJsonKeys', () => {
  it('finds a key given twice in one object, with its path', () => {
    expect(duplicateJsonKeys('{"connections": {"pg": {"url": "a"}, "pg": {"url": "b"}}}')).toEqual(['connections.pg']);
    expect(duplicateJsonKeys('{"a": 1, "a": 2}')).toEqual(['a']);
    expect(duplicateJsonKeys('{"http": {"host": "x", "port": 1, "host": "y"}}')).toEqual(['http.host']);
  });

  it('is not fooled by equal keys in different objects, strings that look like keys, or escapes', () => {
    expect(duplicateJsonKeys('{"a": {"url": "x"}, "b": {"url": "y"}}')).toEqual([]);
    expect(duplicateJsonKeys('{"a": "\\"a\\": 1, \\"a\\"", "b": ["a", "a", {"a": 1}, {"a": 2}]}')).toEqual([]);
    expect(duplicateJsonKeys('{"k\\"": 1, "k\\u0022": 2}')).toEqual(['k"']);
    expect(duplicateJsonKeys('{"tools": ["queries", "queries"], "x": {"y": {"z": 1}}, "y": 2}')).toEqual([]);
  });
});

describe('prettyLine', () => {
  it('writes time, level, message and the other fields as key=value', () => {
    const line = prettyLine(JSON.stringify({ level: 'warn', time: Date.UTC(2026, 0, 2, 3, 4, 5, 678), pid: 1, name: 'codomyrmex-db', msg: 'a tool failed', code: 'NO_SPACE', err: 'no space left', n: 3 }), false);
    expect(line).toBe('03:04:05.678 WARN  a tool failed code=NO_SPACE err="no space left" n=3\n');
  });

  it('keeps a stack on the lines below, and passes anything that is not JSON through', () => {
    expect(prettyLine('{"level":"error","time":0,"msg":"boom","stack":"Error: x\\n    at f"}', false)).toBe('00:00:00.000 ERROR boom\n    Error: x\n        at f\n');
    expect(prettyLine('not json', false)).toBe('not json\n');
  });
});
