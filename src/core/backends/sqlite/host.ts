/**
 * The child process that owns one SQLite database for the parent dialect (dialect.ts);
 * the build's `sqlite-host` entry (dist/sqlite-host.js).
 *
 * better-sqlite3 is synchronous and a running statement cannot be interrupted from
 * another thread, so the database lives here, where the parent can SIGKILL a runaway
 * statement without its own event loop ever blocking (PITFALLS.md, SQLite).
 *
 * The messages are host-protocol.ts. Requests are handled one at a time, in order (an
 * asynchronous one, `backup`, holds back the requests behind it until it is done). The
 * database and what runs on it are host-db.ts, whole-file operations host-file.ts.
 * This process never writes to stdout: diagnostics go to stderr (log).
 */
import { Worker } from 'node:worker_threads';
import { DbError } from '../../../errors.js';
import { toDbError } from './errors.js';
import { HostDb, log } from './host-db.js';
import { backupTo, checkpoint, freeze, release, takeover } from './host-file.js';
import type { HostReply, HostRequest } from './host-protocol.js';

function dispatch(host: HostDb, req: HostRequest): unknown {
  if (req.op !== 'next') host.endIteration();
  if (req.op === 'open' || req.op === 'close' || req.op === 'release') host.forgetStatements();
  switch (req.op) {
    case 'iterate': return host.iterate(req);
    case 'next': return host.nextBatch();
    case 'insert': return host.insert(req);
    case 'backup': return backupTo(host, req);
    case 'checkpoint': return checkpoint(host);
    case 'freeze': return freeze(host, req);
    case 'takeover': return takeover(host);
    case 'release': return release(host);
    case 'open': return host.open(req);
    case 'info': return host.info();
    case 'execute': return host.execute(req);
    case 'transaction': return host.transaction(req);
    case 'batch': return host.batch(req);
    case 'close':
      host.close();
      return null;
    default: throw new DbError('INVALID_INPUT', `unknown host operation: ${String((req as { op?: unknown }).op)}`);
  }
}

async function handle(host: HostDb, msg: unknown): Promise<HostReply | null> {
  const id = (msg as { id?: unknown } | null)?.id;
  if (typeof id !== 'number') {
    log('ignored a message without a numeric id');
    return null;
  }
  try {
    return { id, ok: true, result: await dispatch(host, msg as HostRequest) };
  } catch (err) {
    return { id, ok: false, error: toDbError(err).toJSON() };
  }
}

/**
 * A runaway statement blocks this thread, so the 'disconnect' event cannot fire when the
 * parent dies (SIGKILL, crash) and the statement would run on as an orphan. A thread of
 * its own notices the new parent pid and kills the process.
 */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL'); }, 500);
`;

function startOrphanWatchdog(): void {
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid } });
  worker.on('error', (err) => log('orphan watchdog failed', { error: err.message }));
  worker.unref();
}

function send(msg: HostRequest, reply: HostReply): void {
  const closing = msg.op === 'close';
  process.send?.(reply, undefined, {}, (err) => {
    if (err) log('could not send a reply', { id: reply.id, error: err.message });
    // Disconnect only once the reply is written, so the parent sees the close confirmed.
    if (closing) process.disconnect();
  });
}

function main(): void {
  if (!process.send) {
    process.stderr.write('sqlite-host runs as a child of codomyrmex-db (needs an IPC channel)\n');
    process.exit(2);
  }
  startOrphanWatchdog();
  const host = new HostDb();
  // In order: a request waits for the one before it, even an asynchronous one.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (msg) => {
    queue = queue.then(async () => {
      const reply = await handle(host, msg);
      if (reply) send(msg as HostRequest, reply);
    });
  });
  // The parent is gone (or closed us): nothing left to serve. Closing flushes WAL state cleanly.
  process.on('disconnect', () => {
    host.close();
    process.exit(0);
  });
}

main();
