// Closing the server: connections that carry no request are dropped (Node's
// closeIdleConnections misses a keep-alive connection a client opened but never used), so
// that close() is not held up by a client's connection pool.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const connectionsPlugin = fp(
  async (app: FastifyInstance) => {
    const inFlight = new Map<Socket, number>();
    app.server.on('connection', (sock: Socket) => {
      inFlight.set(sock, 0);
      sock.once('close', () => inFlight.delete(sock));
    });
    app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const sock = req.socket;
      inFlight.set(sock, (inFlight.get(sock) ?? 0) + 1);
      res.once('close', () => {
        if (inFlight.has(sock)) inFlight.set(sock, Math.max(0, inFlight.get(sock)! - 1));
      });
    });
    // An upgraded socket is the WebSocket's now: exec closes it with a reason on close.
    app.server.on('upgrade', (req: IncomingMessage) => inFlight.delete(req.socket));
    app.addHook('preClose', async () => {
      for (const [sock, n] of inFlight) if (n === 0) sock.destroy();
    });
  },
  { name: 'tidepool-connections', fastify: '5.x' },
);
