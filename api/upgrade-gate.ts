// Every WebSocket upgrade (exec, and any other upgrade a route adds) passes the login gate
// before any upgrade listener sees it: the gate is in the server's own emit, so no listener,
// however it was added, can run first. `before` runs ahead of the login (the Origin check: a
// page of another origin is refused before its guesses count). A refused upgrade gets a plain HTTP answer carrying the
// Status (401 with WWW-Authenticate, 429 with Retry-After) and the socket closes.
import { Server, type IncomingMessage, type ServerOptions, type RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './errors.js';
import { LoginRefused, type LoginGate } from './auth.js';
import type { Identity } from './identity.js';

/** Who each upgrade that passed the gate comes from (for the upgrade's own listener). */
const identities = new WeakMap<IncomingMessage, Identity>();

/** The identity the gate found for an upgrade request; undefined when it did not pass the gate. */
export const upgradeIdentity = (req: IncomingMessage): Identity | undefined => identities.get(req);

class GatedServer extends Server {
  constructor(
    options: ServerOptions,
    handler: RequestListener,
    private readonly gate: LoginGate,
    private readonly before: UpgradeCheck,
    private readonly sessionCheck: UpgradeCheck,
  ) {
    super(options, handler);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'upgrade') return super.emit(event as string, ...args);
    const [req, socket, head] = args as [IncomingMessage, Duplex, Buffer];
    // The socket has no error listener while the gate waits (Node removed its own): a client
    // that goes away then must not take the server down.
    const ignore = () => undefined;
    socket.on('error', ignore);
    const refused = this.before(req);
    if (refused) {
      refuseUpgrade(socket, refused);
      return true;
    }
    this.gate.check(req).then(
      (who) => {
        const refusedSession = who.via === 'session' ? this.sessionCheck(req) : undefined;
        if (refusedSession) return refuseUpgrade(socket, refusedSession);
        identities.set(req, who);
        socket.off('error', ignore);
        if (!socket.destroyed) super.emit('upgrade', req, socket, head);
      },
      (err: unknown) => refuseUpgrade(socket, err),
    );
    return true;
  }
}

/** A check ahead of the login: the refusal, or undefined to go on. */
export type UpgradeCheck = (req: IncomingMessage) => ApiError | undefined;

/**
 * An http.Server (for Fastify's serverFactory) whose upgrades pass `before`, then `gate`, first;
 * an upgrade signed in by the session cookie passes `sessionCheck` too (origin.ts, sessionRefusal).
 */
export function gatedServer(
  options: ServerOptions,
  handler: RequestListener,
  gate: LoginGate,
  before: UpgradeCheck = () => undefined,
  sessionCheck: UpgradeCheck = () => undefined,
): Server {
  return new GatedServer(options, handler, gate, before, sessionCheck);
}

function refuseUpgrade(socket: Duplex, err: unknown): void {
  const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', 'the login check failed');
  const headers = err instanceof LoginRefused ? err.headers : {};
  const body = JSON.stringify(e.toStatus());
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}
