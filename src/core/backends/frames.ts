/**
 * Message framing read ahead of a driver: both PostgreSQL and MySQL send a fixed-size
 * header that says how long the body after it is. The guards in postgres/socket.ts and
 * mysql/socket.ts judge each header before the driver buffers its body.
 */
import type { Socket } from 'node:net';

/**
 * Calls `onHeader` with each header of `headerBytes` bytes as it arrives on the socket
 * (a listener prepended to the driver's own). It answers how many body bytes follow,
 * which are skipped, or null when it has destroyed the socket.
 */
export function watchFrames(socket: Socket, headerBytes: number, onHeader: (header: Buffer) => number | null): void {
  let skip = 0; // body bytes of the current message still to come
  let header = Buffer.alloc(0);
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && !socket.destroyed) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const take = Math.min(headerBytes - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + take)]);
      at += take;
      if (header.length < headerBytes) break;
      const body = onHeader(header);
      header = Buffer.alloc(0);
      if (body === null) return;
      skip = body;
    }
  });
}
