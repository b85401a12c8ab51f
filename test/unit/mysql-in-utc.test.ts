/** A timestamptz as SQLite may keep it (any offset form) into MariaDB, which reads no zone: the same instant in UTC, its fraction as written. */
import { describe, expect, it } from 'vitest';
import { inUtc } from '../../src/core/backends/mysql/values.js';

describe('inUtc', () => {
  it('gives the instant Date.parse gives, for every offset form, fraction kept', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Math.random() * 2 ** 41); // 1970 to about 2039
      const local = new Date(ms).toISOString().slice(0, 19);
      const minutes = (Math.floor(Math.random() * 28) - 14) * 60 + [0, 30, 45][i % 3]!;
      const sign = minutes < 0 ? '-' : '+';
      const hh = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0');
      const mm = String(Math.abs(minutes) % 60).padStart(2, '0');
      const zone = [`${sign}${hh}:${mm}`, `${sign}${hh}${mm}`, ...(mm === '00' ? [`${sign}${hh}`] : [])][i % (mm === '00' ? 3 : 2)]!;
      const frac = ['', '.5', '.123456'][i % 3]!;
      const v = `${local.replace('T', i % 2 ? 'T' : ' ')}${frac}${zone}`;
      const want = new Date(Date.parse(`${local}${zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`}`)).toISOString().slice(0, 19).replace('T', ' ');
      expect(inUtc(v), v).toBe(`${want}${frac}`);
    }
  });
  it('drops a Z, leaves what has no zone, and years before 100 as they are', () => {
    expect(inUtc('2024-01-01T10:00:00.5Z')).toBe('2024-01-01T10:00:00.5');
    expect(inUtc('2024-01-01 10:00:00')).toBe('2024-01-01 10:00:00');
    expect(inUtc('2024-01-01')).toBe('2024-01-01');
    expect(inUtc('0050-06-01 01:00:00+02:00')).toBe('0050-05-31 23:00:00');
  });
});
