import { describe, expect, it } from 'vitest';
import { bar, barChart, bytesText, msText, sparkline } from '../../src/tools/chart.js';

describe('text charts', () => {
  it('draws bars in eighths of a cell, proportional to the largest value', () => {
    expect(bar(10, 10, 4)).toBe('████');
    expect(bar(5, 10, 4)).toBe('██');
    expect(bar(1, 10, 4)).toBe('▍'); // 3.2 eighths, rounded to 3
    expect(bar(0.001, 10, 4)).toBe('▏'); // a sliver for anything above 0
    expect(bar(0, 10, 4)).toBe('');
  });

  it('draws sparklines from the smallest to the largest value', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([5, 5])).toBe('▄▄');
    expect(sparkline([])).toBe('');
  });

  it('labels bars, cutting long labels', () => {
    const chart = barChart('title', [{ label: 'a'.repeat(70), value: 2, note: '2 ms' }, { label: 'b', value: 1, note: '1 ms' }], 10, 4);
    expect(chart.split('\n')).toEqual(['title', `${'a'.repeat(9)}… ████ 2 ms`, 'b          ██   1 ms']);
    expect(barChart('title', [])).toBe('');
  });

  it('writes sizes and durations as people read them', () => {
    expect([bytesText(999), bytesText(12_345_678), bytesText(null)]).toEqual(['999 B', '12.3 MB', '?']);
    expect([msText(3.25), msText(850), msText(1500), msText(90_000)]).toEqual(['3.3 ms', '850 ms', '1.5 s', '1.5 min']);
  });
});
