import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/**
 * What the path does to one flow:
 * - `forward`: bytes pass both ways (after the proxy's delay, if any);
 * - `forgotten-rst` / `forgotten-fin`: the path forgot the flow while the client was idle (a NAT
 *   gateway after ~350 s, or the server closing while the Lambda container was frozen). The client
 *   learns it only when it next writes: its bytes are answered with a reset, or with a FIN;
 * - `blackhole`: bytes go nowhere and nothing ever comes back (no FIN, no RST).
 */
export type FlowState = 'forward' | 'forgotten-rst' | 'forgotten-fin' | 'blackhole';

export interface TcpProxyOptions {
  target: { host: string; port: number };
  /** Delay added to every chunk in each direction, so a round trip costs `2 × oneWayDelayMs`. */
  oneWayDelayMs?: number;
  /** Keep every byte each client sent (a wire tap for plaintext checks); off by default. */
  recordClientBytes?: boolean;
}

/** When the proxy took a chunk from a client, or delivered one of the server's to its client. */
export interface ChunkEvent {
  /** `performance.now()` of this process. */
  at: number;
  direction: 'from-client' | 'to-client';
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections open right now. */
  readonly openConnections: number;
  /**
   * Client flights the server answered, summed over all connections: each time the server starts
   * talking after the client did is one round trip of the protocol, whatever the timing.
   */
  readonly roundTrips: number;
  /**
   * Serial rounds across all connections: each time some client starts waiting for an answer while
   * no other was. Requests sent side by side (an HTTP client on several sockets) count once.
   */
  readonly rounds: number;
  /** With `recordClientBytes`: everything each client sent towards the server, in order. */
  readonly clientBytes: Buffer[][];
  /** Every chunk taken from a client and delivered to one, in order (for tests of what goes first). */
  readonly chunks: readonly ChunkEvent[];
  /** Can be changed while connections are open; chunks already queued keep their delivery time. */
  oneWayDelayMs: number;
  /** RST to every open client (and its upstream) now, like a NAT gateway that has forgotten the flow. */
  resetAll(): void;
  /** FIN to every open client and upstream now. */
  finAll(): void;
  /** While on, bytes in both directions are held back (clients see no reply); released in order when off. */
  blackhole(on: boolean): void;
  /** Applies `state` to every open flow; the client notices when it next writes. */
  setOpenFlows(state: Exclude<FlowState, 'forward'>): void;
  /** Applies `state` to flows opened from now on (`forward` by default). */
  setNewFlows(state: 'forward' | 'blackhole'): void;
  close(): Promise<void>;
}

interface Flow {
  client: Socket;
  upstream: Socket;
  state: FlowState;
  resume: () => void;
}

interface Pending {
  due: number;
  chunk: Buffer | null;
}

/**
 * Delivers what is pushed (chunks, `null` for the FIN) to `to`, each `delay()` ms after it was pushed,
 * in order, holding everything while `held()` is true. With no delay a chunk is written at once, in
 * the same turn of the event loop.
 */
function delayedPipe(to: Socket, delay: () => number, held: () => boolean, delivered: () => void = () => {}) {
  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (held() || to.destroyed) return;
    while (queue[0] && queue[0].due <= performance.now()) {
      const { chunk } = queue.shift() as Pending;
      if (to.writableEnded) continue;
      if (chunk) {
        to.write(chunk);
        delivered();
      } else to.end();
    }
    if (queue[0]) timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ due: performance.now() + delay(), chunk });
    if (!timer) flush();
  };
  return { push, resume: flush };
}

/**
 * Starts a TCP proxy on loopback in front of `target` (e.g. the Gmail-like server): latency, a round
 * trip count, and the network faults the servers themselves cannot produce (a silent path, a reset or
 * a FIN from the middle, a flow forgotten while the client was idle).
 */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const flows = new Set<Flow>();
  const clientBytes: Buffer[][] = [];
  const chunks: ChunkEvent[] = [];
  const state = {
    oneWayDelayMs: options.oneWayDelayMs ?? 0,
    blackholed: false,
    connections: 0,
    roundTrips: 0,
    rounds: 0,
    awaiting: 0,
    newFlows: 'forward' as 'forward' | 'blackhole',
  };
  const delay = () => state.oneWayDelayMs;
  const held = () => state.blackholed;

  // noDelay on both legs: Nagle plus a delayed ACK would stall the second TLS record of a message ~40 ms.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    state.connections += 1;
    const tap: Buffer[] = [];
    if (options.recordClientBytes) clientBytes.push(tap);
    const upstream = connect({ ...options.target, allowHalfOpen: true, noDelay: true });
    const up = delayedPipe(upstream, delay, held);
    const down = delayedPipe(client, delay, held, () =>
      chunks.push({ at: performance.now(), direction: 'to-client' }),
    );
    const flow: Flow = {
      client,
      upstream,
      state: state.newFlows,
      resume: () => {
        up.resume();
        down.resume();
      },
    };
    flows.add(flow);
    let clientSpokeLast = false;

    const answered = () => {
      if (clientSpokeLast) state.awaiting -= 1;
      clientSpokeLast = false;
    };
    client.on('data', (chunk: Buffer) => {
      chunks.push({ at: performance.now(), direction: 'from-client' });
      if (options.recordClientBytes) tap.push(chunk);
      if (!clientSpokeLast) {
        if (state.awaiting === 0) state.rounds += 1;
        state.awaiting += 1;
      }
      clientSpokeLast = true;
      if (flow.state === 'forward') up.push(chunk);
      else if (flow.state === 'forgotten-rst') {
        client.resetAndDestroy();
        upstream.destroy();
      } else if (flow.state === 'forgotten-fin') {
        client.end();
        upstream.destroy();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (clientSpokeLast) state.roundTrips += 1;
      answered();
      // A forgotten or blackholed flow hides the server's side from the client.
      if (flow.state === 'forward') down.push(chunk);
    });
    // The FIN travels through the queue too, so it arrives after the data sent before it, delayed alike.
    client.on('end', () => {
      if (flow.state === 'forward') up.push(null);
    });
    let upstreamEnded = false;
    upstream.on('end', () => {
      upstreamEnded = true;
      if (flow.state === 'forward') down.push(null);
    });
    // A client that is gone takes its upstream with it; an upstream that fails resets the client.
    // An upstream that merely closes does not: its FIN reaches the client through the delay queue.
    const teardown = () => {
      answered();
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', () => {
      if (flow.state === 'forward' && !client.destroyed) client.resetAndDestroy();
    });
    // An upstream destroyed without a FIN still ends the client, after the bytes already queued.
    upstream.on('close', () => {
      if (flow.state === 'forward' && !upstreamEnded && !client.destroyed) down.push(null);
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
      return flows.size;
    },
    get roundTrips() {
      return state.roundTrips;
    },
    get rounds() {
      return state.rounds;
    },
    clientBytes,
    chunks,
    get oneWayDelayMs() {
      return state.oneWayDelayMs;
    },
    set oneWayDelayMs(value) {
      state.oneWayDelayMs = value;
    },
    resetAll() {
      for (const { client, upstream } of flows) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
    },
    finAll() {
      for (const { client, upstream } of flows) {
        client.end();
        upstream.end();
      }
    },
    blackhole(on) {
      state.blackholed = on;
      if (!on) for (const flow of flows) flow.resume();
    },
    setOpenFlows(flowState) {
      for (const flow of flows) flow.state = flowState;
    },
    setNewFlows(flowState) {
      state.newFlows = flowState;
    },
    async close() {
      for (const { client, upstream } of flows) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
