/**
 * A plain TCP proxy in front of the shared PostgreSQL, standing for the network between the
 * server and the database: a test can drop one session with a FIN (no ErrorResponse) or write
 * into it, finding its client socket by the local port PostgreSQL sees
 * (pg_stat_activity.client_port).
 */
import { createServer, Socket, type Server } from 'node:net';

export interface PgProxy {
  server: Server;
  port: number;
  /** Client sockets of the proxy, by the local port PostgreSQL sees. */
  byUpstreamPort: Map<number, Socket>;
}

export function pgProxy(): Promise<PgProxy> {
  const byUpstreamPort = new Map<number, Socket>();
  const server = createServer((client) => {
    const up = new Socket();
    up.connect(5432, '127.0.0.1', () => { byUpstreamPort.set(up.localPort!, client); });
    client.pipe(up); up.pipe(client);
    client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
    client.on('close', () => up.destroy()); up.on('close', () => client.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as { port: number }).port, byUpstreamPort })));
}
