import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

/**
 * What the path does to a flow:
 * - `forward`: bytes pass both ways;
 * - `forgotten-rst` / `forgotten-fin`: the path forgot the flow while the client was idle (a NAT
 *   gateway after ~350 s, or the server closing while the Lambda container was frozen). The client
 *   learns it only when it next writes: its bytes are answered with a reset, or with a FIN.
 * - `blackhole`: bytes go nowhere and nothing ever comes back (no FIN, no RST).
 */
export type FlowState = 'forward' | 'forgotten-rst' | 'forgotten-fin' | 'blackhole';

export interface NatPath {
  readonly host: string;
  readonly port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Everything each client sent towards the server, in order (a wire tap for plaintext checks). */
  readonly clientBytes: Buffer[][];
  /** Applies `state` to every open flow. */
  setOpenFlows(state: Exclude<FlowState, 'forward'>): void;
  /** Applies `state` to flows opened from now on (`forward` by default). */
  setNewFlows(state: 'forward' | 'blackhole'): void;
  close(): Promise<void>;
}

interface Flow {
  client: Socket;
  upstream: Socket;
  state: FlowState;
}

/**
 * A loopback TCP path in front of the Gmail-like server that can forget flows the way a NAT gateway
 * does, or swallow them whole. Unlike the server dropping a connection (which the client's event loop
 * sees at once), a forgotten flow stays "open" for the client until it tries to use it: the case of a
 * warm pooled connection reused after a freeze.
 */
export async function startNatPath(target: { host: string; port: number }): Promise<NatPath> {
  const flows = new Set<Flow>();
  const clientBytes: Buffer[][] = [];
  let newFlows: 'forward' | 'blackhole' = 'forward';
  let connections = 0;

  const server = createServer({ allowHalfOpen: true }, (client) => {
    connections += 1;
    const tap: Buffer[] = [];
    clientBytes.push(tap);
    const upstream = connect({ ...target, allowHalfOpen: true });
    const flow: Flow = { client, upstream, state: newFlows };
    flows.add(flow);
    const teardown = () => {
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      tap.push(chunk);
      if (flow.state === 'forward') upstream.write(chunk);
      else if (flow.state === 'forgotten-rst') {
        client.resetAndDestroy();
        upstream.destroy();
      } else if (flow.state === 'forgotten-fin') {
        client.end();
        upstream.destroy();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (flow.state === 'forward') client.write(chunk);
    });
    client.on('end', () => {
      if (flow.state === 'forward') upstream.end();
    });
    upstream.on('end', () => {
      if (flow.state === 'forward') client.end();
    });
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', () => {
      // A forgotten or blackholed flow hides the server's side from the client.
      if (flow.state === 'forward') teardown();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('NAT path has no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return connections;
    },
    clientBytes,
    setOpenFlows(state) {
      for (const flow of flows) flow.state = state;
    },
    setNewFlows(state) {
      newFlows = state;
    },
    async close() {
      for (const flow of flows) {
        flow.client.destroy();
        flow.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
