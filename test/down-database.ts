import { connect } from '../db/client';
import { listenOnLoopback } from '../dev/stand-ins/http-server';

/**
 * A database handle whose every query fails to connect, as in a database outage: a Postgres URL
 * on a port that was just free. Tests hand it to the one step whose failure they study.
 */
export async function downDatabase() {
  const server = await listenOnLoopback(() => new Response('unused'));
  await server.close();
  const port = new URL(server.url).port;
  return connect(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
}
