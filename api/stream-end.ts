// The end of a streaming response the API took over from Fastify (watch, logs -f): such a
// stream ends only when its client or the server goes, so the server ends it on close.
import type { ServerResponse } from 'node:http';

/** A client that reads nothing back gets this long before its connection is cut anyway. */
const FLUSH_GRACE_MS = 1000;

/**
 * Ends the response (the client sees a complete stream) and closes its connection once that is
 * written, at the latest after a second: a closing server must not wait for the keep-alive
 * timeout of each streaming client, nor for one that stopped reading.
 */
export function endStream(res: ServerResponse): void {
  if (!res.writableEnded) res.end();
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  socket.destroySoon();
  setTimeout(() => socket.destroy(), FLUSH_GRACE_MS).unref();
}
