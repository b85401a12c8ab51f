/** Reading a portable backup file as written: its header and each table's row lines. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

type Json = Record<string, any>;

export function readBackupLines(path: string): { header: Json; rows: Record<string, string[]> } {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter(Boolean);
  const header = JSON.parse(lines[0]!) as Json;
  const rows: Record<string, string[]> = {};
  let table = '';
  for (const line of lines.slice(1)) {
    if (line.startsWith('[')) rows[table]!.push(line);
    else if (line.startsWith('{"table"')) { table = String(JSON.parse(line).name); rows[table] = []; }
  }
  return { header, rows };
}
