import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface LatencyProxy {
  readonly host: string;
  readonly port: number;
  /**
   * Client flights the server answered, summed over all connections: each time the server starts
   * talking after the client did is one round trip of the protocol, whatever the timing.
   */
  readonly roundTrips: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk (and finally the FIN) `delayMs` after it arrived, in order. */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  const queue: { due: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    while (queue[0] && queue[0].due <= performance.now()) {
      const { chunk } = queue.shift() as { chunk: Buffer | null };
      if (to.destroyed) return;
      if (chunk) to.write(chunk);
      else to.end();
    }
    if (queue[0]) timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    timer ??= setTimeout(flush, delayMs);
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  from.on('close', () => clearTimeout(timer));
}

/**
 * A TCP proxy on loopback that delays every chunk by `oneWayDelayMs` in each direction, so a round
 * trip costs twice that, like a network path. Like test/support/tcp-proxy.ts, but with Nagle's
 * algorithm off on both legs (`noDelay`), as on the function's own socket: with it on, a message
 * written in two TLS records waits for a delayed ACK (40 ms on Linux) between them, and the
 * benchmark would measure the proxy instead of the path.
 */
export async function startLatencyProxy(options: {
  target: { host: string; port: number };
  oneWayDelayMs: number;
}): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  let roundTrips = 0;
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ ...options.target, allowHalfOpen: true, noDelay: true });
    let clientSpokeLast = false;
    client.on('data', () => {
      clientSpokeLast = true;
    });
    upstream.on('data', () => {
      if (clientSpokeLast) roundTrips += 1;
      clientSpokeLast = false;
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    delayedPipe(client, upstream, options.oneWayDelayMs);
    delayedPipe(upstream, client, options.oneWayDelayMs);
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('latency proxy has no TCP address');
  return {
    host: '127.0.0.1',
    port: address.port,
    get roundTrips() {
      return roundTrips;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
