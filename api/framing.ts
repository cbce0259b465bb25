// What Node's HTTP parser refuses before any route runs (malformed framing, a request too
// slow to arrive, headers too large), answered as a Status object like every other error,
// and the connection cap derived from the file-descriptor limit.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

const WHY: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'RequestHeaderFieldsTooLarge', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Timeout', 'the request did not arrive in time (headers or body too slow)'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [
    400,
    'BadRequest',
    'malformed HTTP framing: Content-Length together with Transfer-Encoding',
  ],
  HPE_INVALID_CHUNK_SIZE: [400, 'BadRequest', 'malformed HTTP framing: invalid chunk size'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'BadRequest', 'malformed HTTP framing: invalid Transfer-Encoding'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'BadRequest', 'malformed HTTP framing: invalid or repeated Content-Length'],
  HPE_INVALID_HEADER_TOKEN: [
    400,
    'BadRequest',
    'malformed HTTP framing: invalid header (a folded header line, or a bad character in a name)',
  ],
};

export function framingError(err: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, reason, what] = WHY[err.code ?? ''] ?? [400, 'BadRequest', 'malformed HTTP request'];
  const detail = err.reason ? ` (${err.reason})` : '';
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code,
    reason,
    message: `${what}${detail}`,
  });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** Room for connections under the soft limit of open files, keeping 128 for the store, logs and Caddy's pipes. */
export function defaultMaxConnections(): number {
  let soft = 1024;
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') soft = Number(m[1]);
    else if (m) soft = 65536;
  } catch {
    /* not Linux: assume the common 1024 (macOS defaults to 256; launchd raises it) */
  }
  return Math.max(16, Math.min(1024, soft - 128));
}
