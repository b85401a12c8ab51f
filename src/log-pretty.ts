/**
 * Readable log lines for a person at a terminal, without a dependency (pino-pretty is not
 * installed): `12:03:04.567 WARN  message key=value …`. Used when stderr is a TTY, or
 * when CODOMYRMEX_DB_LOG_FORMAT=pretty; CODOMYRMEX_DB_LOG_FORMAT=json keeps pino's JSON
 * lines (the default when stderr is a pipe or a file: log collectors read those).
 */
import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { DbError } from './errors.js';

const OMITTED = new Set(['time', 'level', 'msg', 'name', 'pid', 'stack']);
const COLORS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };

function valueText(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  const short = text.length > 300 ? `${text.slice(0, 299)}…` : text;
  return typeof v === 'string' && /[\s"=]/.test(short) ? JSON.stringify(short) : short;
}

/** One pino JSON line as a readable line (a stack, when logged, on the lines below). */
export function prettyLine(json: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const label = String(o.level ?? '').toUpperCase().padEnd(5);
  const level = color && COLORS[String(o.level)] ? `\u001b[${COLORS[String(o.level)]}m${label}\u001b[0m` : label;
  const fields = Object.entries(o).filter(([k]) => !OMITTED.has(k)).map(([k, v]) => `${k}=${valueText(v)}`);
  const stack = typeof o.stack === 'string' ? `\n    ${o.stack.split('\n').join('\n    ')}` : '';
  return `${[time, level, String(o.msg ?? ''), ...fields].filter(Boolean).join(' ')}${stack}\n`;
}

/** Where logs go: pretty lines to fd 2 on a terminal (or when asked), else undefined (pino's JSON on fd 2). */
export function logDestination(env: NodeJS.ProcessEnv, stderrIsTty: boolean): DestinationStream | undefined {
  const format = env.CODOMYRMEX_DB_LOG_FORMAT;
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new DbError('INVALID_INPUT', 'CODOMYRMEX_DB_LOG_FORMAT must be json or pretty');
  }
  if (format === 'json' || (format === undefined && !stderrIsTty)) return undefined;
  const color = stderrIsTty && env.NO_COLOR === undefined;
  // Synchronous, like pino's own destination here: a line is out before a crash or exit.
  return { write: (line: string) => { writeSync(2, prettyLine(line, color)); } };
}
