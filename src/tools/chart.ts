/**
 * Text pictures for people reading a transcript: horizontal bars and sparklines in
 * Unicode block characters. The numbers stay in structuredContent; these only show
 * the shape.
 */

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const LEVELS = '▁▂▃▄▅▆▇█';

/** A bar of `value / max` of `width` cells, in eighths of a cell; at least a sliver for any value above 0. */
export function bar(value: number, max: number, width: number): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** One character per value, scaled between the smallest and the largest. */
export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => LEVELS[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (LEVELS.length - 1))]).join('');
}

function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= width ? flat.padEnd(width) : `${flat.slice(0, width - 1)}…`;
}

export interface BarRow {
  label: string;
  value: number;
  /** Printed after the bar: the value with its unit, and anything else worth a glance. */
  note: string;
}

/** A titled block of labelled bars, longest first as given; '' when there is nothing to draw. */
export function barChart(title: string, rows: BarRow[], labelWidth = 60, barWidth = 24): string {
  if (rows.length === 0) return '';
  const max = Math.max(...rows.map((r) => r.value));
  const lines = rows.map((r) => `${clip(r.label, labelWidth)} ${bar(r.value, max, barWidth).padEnd(barWidth)} ${r.note}`);
  return [title, ...lines].join('\n');
}

/** 1234567 -> '1.2 MB'; for sizes in bytes. */
export function bytesText(n: number | null): string {
  if (n === null) return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Milliseconds as a person reads them: 850 ms, 1.2 s, 3.5 min. */
export function msText(ms: number): string {
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
