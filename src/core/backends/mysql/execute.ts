/**
 * One agent statement on a pooled MySQL/MariaDB connection, through mysql2's callback
 * API, which streams rows as events so a large result costs bounded memory. Statements
 * with parameters use the binary protocol (server-side binding, no client-side escaping
 * that a sql_mode could defeat); others the text protocol. A client-side KILL QUERY
 * backs the server's timeout, and a hard deadline covers a server that stops answering.
 */
import type { FieldPacket, PoolConnection } from 'mysql2';
import { DbError } from '../../../errors.js';
import type { ExecOptions, Statement, StatementResult } from '../../dialect.js';
import { elapsedSince, RowCollector } from '../../limits.js';
import { fromMysqlError } from './errors.js';
import { closedWhy } from './socket.js';
import type { MysqlPool, Run } from './pool.js';
import { columnTypeName, convertRow } from './types.js';

const CLIENT_KILL_GRACE_MS = 250;
const HARD_DEADLINE_GRACE_MS = 5000;

/**
 * Runs one statement. `killOnCap`: KILL QUERY once the cap is reached (only where the
 * work is rolled back anyway). MariaDB stops a recursive CTE at max_recursive_iterations
 * with only a warning (1931, "the query result may be incomplete") on a read: a result
 * cut short that way is an error, not an answer. Asked only of statements that name RECURSIVE.
 */
export async function runStatement(pool: MysqlPool, conn: PoolConnection, stmt: Statement, opts: ExecOptions, killOnCap: boolean): Promise<StatementResult> {
  const result = await runOne(pool, conn, stmt, opts, killOnCap);
  if (!/\brecursive\b/i.test(stmt.text)) return result;
  const warnings = await new Promise<Array<{ Code?: number; Message?: string }>>((resolve, reject) => {
    conn.query('SHOW WARNINGS', (err, rows) => (err ? reject(fromMysqlError(err)) : resolve(rows as Array<{ Code?: number; Message?: string }>)));
  });
  const cut = warnings.find((w) => Number(w.Code) === 1931);
  if (cut) throw new DbError('LIMIT_EXCEEDED', `the recursion stopped at max_recursive_iterations, so the result would be incomplete: ${String(cut.Message ?? '')}`.trim(), { errno: 1931 });
  return result;
}

function runOne(pool: MysqlPool, conn: PoolConnection, stmt: Statement, opts: ExecOptions, killOnCap: boolean): Promise<StatementResult> {
  const start = performance.now();
  const collector = new RowCollector(opts.maxRows, opts.maxBytes);
  // Rows as arrays: a JOIN's two `id` columns both survive (RowCollector makes the keys unique).
  const cmd = stmt.params.length
    ? conn.execute({ sql: stmt.text, values: stmt.params as never[], rowsAsArray: true })
    : conn.query({ sql: stmt.text, rowsAsArray: true });
  const run: Run = {};
  let fields: FieldPacket[] | undefined;
  let affected: number | null = null;
  let killing: Promise<void> | undefined;
  return new Promise<StatementResult>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => { killing = pool.kill(run, conn, 'CANCELLED'); };
    const clientTimer = setTimeout(() => { killing = pool.kill(run, conn, 'TIMEOUT'); }, opts.timeoutMs + CLIENT_KILL_GRACE_MS);
    const hardTimer = setTimeout(() => settle(new DbError('CONNECTION_LOST', 'the database stopped answering; the statement was abandoned')), opts.timeoutMs + HARD_DEADLINE_GRACE_MS);
    // A connection killed by the server does not always fail the running command: watch the socket too.
    const socket = (conn as unknown as { stream?: NodeJS.EventEmitter }).stream;
    const onClosed = (): void => settle(closedWhy(socket));
    socket?.once('close', onClosed);
    conn.once('error', onClosed);
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(clientTimer);
      clearTimeout(hardTimer);
      socket?.removeListener('close', onClosed);
      conn.removeListener('error', onClosed);
      opts.signal?.removeEventListener('abort', onAbort);
      // Never hand the connection back while a KILL QUERY for it is still in flight.
      void (killing ?? Promise.resolve()).then(() => {
        if (!err || (run.why === 'CAP' && (err as { errno?: number }).errno === 1317)) {
          const keys = fields ? collector.setColumns(fields.map((f) => f.name)) : [];
          resolve({
            columns: (fields ?? []).map((f, i) => ({ name: keys[i] ?? f.name, type: columnTypeName(f) })),
            rows: collector.rows,
            row_count: affected ?? collector.rows.length,
            affected_rows: affected,
            truncated: collector.truncated,
            elapsed_ms: elapsedSince(start),
          });
        } else reject(errorFor(err, run, opts));
      });
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    // mysql2 also emits 'fields' (undefined) for statements that return no rows.
    cmd.on('fields', (f: FieldPacket[] | undefined) => {
      if (!f) return;
      fields = f;
      collector.setColumns(f.map((x) => x.name));
    });
    cmd.on('result', (row: unknown[]) => {
      if (!fields) {
        affected = Number((row as { affectedRows?: number }).affectedRows ?? 0);
        return;
      }
      if (!collector.add(convertRow(row, fields)) && killOnCap) killing ??= pool.kill(run, conn, 'CAP');
    });
    cmd.on('error', (err: unknown) => settle(err ?? new Error('unknown driver error')));
    cmd.on('end', () => settle());
  });
}

function errorFor(err: unknown, run: Run, opts: ExecOptions): DbError {
  const e = fromMysqlError(err);
  if (run.why === 'CANCELLED') return new DbError('CANCELLED', 'the statement was cancelled by the client', e.details);
  if (e.code === 'TIMEOUT' || run.why === 'TIMEOUT') {
    return new DbError('TIMEOUT', `the statement was stopped after ${opts.timeoutMs} ms (statement timeout)`, { ...e.details, timeout_ms: opts.timeoutMs });
  }
  return e;
}
