import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of Postgres that counts what costs time in production, where every
 * statement is a hop from the Worker through Hyperdrive to Supabase: connections opened, and
 * round trips — each time a client sends after the server has answered (pipelined statements sent
 * together count once, as they cost one hop). The startup handshake (until the server's first
 * ReadyForQuery) is counted as the connection, not as round trips, and closing it (Terminate,
 * which nobody waits for) not at all.
 *
 * Deterministic: it counts protocol turns, not time, so budgets built on it can be enforced by
 * tests on any machine and on both databases (embedded and server).
 */
export interface RoundTripCounter {
  /** postgres://… URL pointing at the proxy (same user, password and database as the target). */
  url: string;
  counts(): { connections: number; roundTrips: number };
  reset(): void;
  close(): Promise<void>;
}

export async function startRoundTripCounter(targetUrl: string): Promise<RoundTripCounter> {
  const target = new URL(targetUrl);
  let connections = 0;
  let roundTrips = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    connections++;
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    // Relayed chunk by chunk, a reply written in several small pieces (the embedded Postgres
    // writes one per message) would otherwise wait on Nagle's algorithm and delayed ACKs (~40 ms).
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let ready = false; // the server has sent its first ReadyForQuery: the handshake is over
    let answered = true; // the server has written since the client's last send
    let pending = Buffer.alloc(0); // unparsed server bytes, only while looking for ReadyForQuery

    client.on('data', (chunk) => {
      // Terminate ('X', alone) closes the connection: nobody waits for an answer to it.
      const terminate = chunk.length === 5 && chunk[0] === 0x58;
      if (ready && answered && !terminate) roundTrips++;
      answered = false;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      answered = true;
      if (!ready) {
        pending = Buffer.concat([pending, chunk]);
        // Server messages: a type byte and an int32 length (which includes itself).
        while (pending.length >= 5) {
          const length = pending.readInt32BE(1);
          if (pending.length < 1 + length) break;
          if (pending[0] === 0x5a /* Z */) ready = true;
          pending = pending.subarray(1 + length);
        }
        // The SSL request is answered by one byte ('N'), not a message.
        if (pending.length === 1 && (pending[0] === 0x4e || pending[0] === 0x53))
          pending = pending.subarray(1);
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy did not listen');
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);

  return {
    url: url.toString(),
    counts: () => ({ connections, roundTrips }),
    reset() {
      connections = 0;
      roundTrips = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
