import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxyOptions {
  target: { host: string; port: number };
  /** Delay added to every chunk in each direction, so a round trip costs `2 × oneWayDelayMs`. */
  oneWayDelayMs?: number;
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections open right now. */
  readonly openConnections: number;
  /** Can be changed while connections are open; chunks already queued keep their delivery time. */
  oneWayDelayMs: number;
  /** RST to every open client (and its upstream), like a NAT gateway that has forgotten the flow. */
  resetAll(): void;
  /** FIN to every open client and upstream. */
  finAll(): void;
  /** While on, bytes in both directions are held back (clients see no reply); released in order when off. */
  blackhole(on: boolean): void;
  close(): Promise<void>;
}

interface Pending {
  due: number;
  chunk: Buffer | null;
}

/**
 * Forwards `from` to `to`, delivering each chunk (and finally the FIN) `delay()` ms after it arrived,
 * in arrival order, and holding everything while `held()` is true.
 */
function delayedPipe(from: Socket, to: Socket, delay: () => number, held: () => boolean) {
  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (held() || to.destroyed) return;
    while (queue[0] && queue[0].due <= Date.now()) {
      const { chunk } = queue.shift() as Pending;
      if (to.writableEnded) continue;
      if (chunk) to.write(chunk);
      else to.end();
    }
    if (queue[0]) timer = setTimeout(flush, queue[0].due - Date.now());
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ due: Date.now() + delay(), chunk });
    if (!timer) flush();
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  // The FIN travels through the queue too, so it arrives after the data sent before it, delayed alike.
  from.on('end', () => push(null));
  return { resume: flush };
}

/**
 * Starts a TCP proxy on loopback in front of `target` (e.g. the Gmail-like server), adding latency and
 * network faults that the servers themselves cannot produce: a silent path, a reset from the middle.
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; resume: () => void }>();
  const state = { oneWayDelayMs: options.oneWayDelayMs ?? 0, blackholed: false, connections: 0 };
  const delay = () => state.oneWayDelayMs;
  const held = () => state.blackholed;

  // noDelay on both legs: Nagle plus a delayed ACK would stall the second TLS record of a message ~40 ms.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    state.connections += 1;
    const upstream = connect({ ...options.target, allowHalfOpen: true, noDelay: true });
    const up = delayedPipe(client, upstream, delay, held);
    const down = delayedPipe(upstream, client, delay, held);
    const pair = {
      client,
      upstream,
      resume: () => {
        up.resume();
        down.resume();
      },
    };
    pairs.add(pair);
    // A client that is gone takes its upstream with it; an upstream that fails resets the client.
    // An upstream that merely closes does not: its FIN reaches the client through the delay queue.
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', () => {
      if (!client.destroyed) client.resetAndDestroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('TCP proxy has no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return state.connections;
    },
    get openConnections() {
      return pairs.size;
    },
    get oneWayDelayMs() {
      return state.oneWayDelayMs;
    },
    set oneWayDelayMs(value) {
      state.oneWayDelayMs = value;
    },
    resetAll() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
    },
    finAll() {
      for (const { client, upstream } of pairs) {
        client.end();
        upstream.end();
      }
    },
    blackhole(on) {
      state.blackholed = on;
      if (!on) for (const pair of pairs) pair.resume();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
