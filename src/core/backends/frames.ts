/**
 * Message framing read ahead of a driver: both PostgreSQL and MySQL send a fixed-size
 * header that says how long the body after it is. The guards in postgres/socket.ts and
 * mysql/socket.ts judge each header before the driver buffers its body.
 */
import type { Socket } from 'node:net';

/**
 * Calls `onHeader` with each header of `headerBytes` bytes as it arrives on the socket
 * (a listener prepended to the driver's own). It answers how many body bytes follow,
 * which are skipped, or null when it has destroyed the socket. `body`: the bodies of the
 * (small) messages it wants, read as they pass.
 */
export function watchFrames(
  socket: Socket,
  headerBytes: number,
  onHeader: (header: Buffer) => number | null,
  body?: { wanted(header: Buffer): boolean; read(header: Buffer, body: Buffer): void },
): void {
  let skip = 0; // body bytes of the current message still to come
  let header = Buffer.alloc(0);
  // The body of a message `body.wanted` asked for, gathered as it is skipped.
  let kept: { header: Buffer; parts: Buffer[] } | null = null;
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && !socket.destroyed) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        kept?.parts.push(chunk.subarray(at, at + n));
        skip -= n;
        at += n;
        if (skip === 0 && kept) {
          body?.read(kept.header, Buffer.concat(kept.parts));
          kept = null;
        }
        continue;
      }
      const take = Math.min(headerBytes - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + take)]);
      at += take;
      if (header.length < headerBytes) break;
      const length = onHeader(header);
      if (length === null) return;
      if (length > 0 && body?.wanted(header)) kept = { header, parts: [] };
      header = Buffer.alloc(0);
      skip = length;
    }
  });
}
