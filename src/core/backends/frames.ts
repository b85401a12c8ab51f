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
  // One header buffer for the socket's life, filled byte by byte: a backup reads hundreds of
  // thousands of messages, and a Buffer made per header was a tenth of its CPU (with the GC).
  // onHeader reads it before it returns; `kept` takes a copy.
  const header = Buffer.alloc(headerBytes);
  let have = 0; // bytes of the header gathered so far (a header may span two chunks)
  // The body of a message `body.wanted` asked for, gathered as it is skipped.
  let kept: { header: Buffer; parts: Buffer[] } | null = null;
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    const end = chunk.length;
    while (at < end && !socket.destroyed) {
      if (skip > 0) {
        const n = Math.min(skip, end - at);
        kept?.parts.push(chunk.subarray(at, at + n));
        skip -= n;
        at += n;
        if (skip === 0 && kept) {
          body?.read(kept.header, Buffer.concat(kept.parts));
          kept = null;
        }
        continue;
      }
      while (have < headerBytes && at < end) header[have++] = chunk[at++]!;
      if (have < headerBytes) break;
      have = 0;
      const length = onHeader(header);
      if (length === null) return;
      if (length > 0 && body?.wanted(header)) kept = { header: Buffer.from(header), parts: [] };
      skip = length;
    }
  });
}
