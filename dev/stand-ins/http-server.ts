import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { serve } from '@hono/node-server';

export interface LoopbackServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a fetch handler on 127.0.0.1 only: stand-ins accept any well-formed token-bearing
 * request, so they must never be reachable from outside the machine.
 */
export function listenOnLoopback(
  fetch: (request: Request) => Response | Promise<Response>,
  port = 0,
): Promise<LoopbackServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: '127.0.0.1' }) as Server;
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      const { port: boundPort } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${boundPort}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Official clients keep connections alive; without this close() waits for their
            // idle timeout instead of returning promptly.
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Constant-time check of `Authorization: Bearer <token>`, so tokens cannot be guessed by timing. */
export function hasBearerToken(authorization: string | undefined, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const actual = Buffer.from(authorization ?? '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A port that is free on 127.0.0.1 right now, for servers that must be told their port up front. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
