import net from 'node:net';

export type FaultProxy = {
  /** The target's URL with this proxy's address: what the app is pointed at instead. */
  url: string;
  /**
   * While on, every connection is cut: the open ones at once, new ones as they arrive (the
   * caller sees a reset, as when a service is unreachable). Off: traffic flows again.
   */
  refuse(on: boolean): void;
  /** Connections cut so far. */
  cut(): number;
  close(): Promise<void>;
};

/**
 * A TCP proxy in front of one local service (the Upstash Redis or QStash stand-in) that the
 * faults-under-load probe switches off and on. At the TCP level, so the app's own clients
 * (`@upstash/redis`, `@upstash/qstash`, with their retries) meet a real network failure, not a
 * made-up answer.
 */
export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let refusing = false;
  let cut = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      cut++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${target.protocol}//127.0.0.1:${port}${target.pathname === '/' ? '' : target.pathname}`,
    refuse(on) {
      refusing = on;
      if (!on) return;
      for (const socket of sockets) {
        cut++;
        socket.resetAndDestroy();
      }
    },
    cut: () => cut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
