// GET /api/v1/workspaces/{name}/exec, upgraded to a WebSocket: runs a command in the
// workspace through the runtime (Incus exec) and bridges its streams, as `kubectl exec`
// does for pods. Query: `command` (repeated, one per argument), `tty`, `width`, `height`,
// `user` (dev, the default, or root). Frames are binary, the first byte names the channel:
//   client → server: 0 stdin data · 4 resize {"width","height"} · 255 [0] end of stdin
//   server → client: 1 stdout · 2 stderr · 3 status {"exitCode"} or {"error"}, then close
// Authentication is the API's own (basic auth on the upgrade request), after the Origin check
// (api/origin.ts): a page of another origin must not open a shell with the browser's credentials.
// This is the API's only WebSocket, so this handler answers every upgrade request: any other
// path gets a 404 Status rather than a socket left open with no one to answer it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { WebSocketServer, type WebSocket } from 'ws';
import { badRequest, notFound, type Store } from '../store/index.js';
import { ApiError, isStatusError } from './errors.js';
import { identityOf } from './identity.js';
import { authorizeNamespace, pathNamespace } from './namespaces.js';
import { objectKey } from '../specs/index.js';
import { crossOriginRefusal, type OriginPolicy } from './origin.js';
import { strictQuery } from './query.js';
import { errorMessage } from '../specs/errors.js';

import type { ExecFunction, ExecRequest, ExecSession } from '../specs/exec.js';

export type { ExecFunction, ExecRequest, ExecSession } from '../specs/exec.js';
/** Filled in once the runtime is up (the API starts before it); empty while the runtime cannot exec. */
export interface ExecHolder {
  exec?: ExecFunction;
  /** True until the runtime is up: a request meanwhile is told to retry (503), not that exec is unsupported. */
  starting?: boolean;
  /** Told when a session opens on a workspace (it counts as use: it keeps it awake); the function it returns is called when it ends. */
  opened?: (name: string) => () => void;
}

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;
/** /api/v1/workspaces/{name}/exec (the requester's own namespace) or /api/v1/namespaces/{ns}/workspaces/{name}/exec. */
const PATH = /^\/api\/v1\/(?:namespaces\/([^/?]+)\/)?workspaces\/([^/?]+)\/exec(?:\?|$)/;
const DEV = { uid: 1000, gid: 1000 };

export interface ExecOptions {
  store: Store;
  exec: ExecHolder | undefined;
  /** Whether the upgrade passed the login gate (upgrade-gate.ts ran first). */
  authorized: (req: IncomingMessage) => boolean;
  origins: OriginPolicy;
}

/** The exec WebSocket: every upgrade request of the server, and its sessions ended on close. */
export const execPlugin = fp(serveExec, { name: 'tidepool-exec', fastify: '5.x' });

async function serveExec(app: FastifyInstance, opts: ExecOptions): Promise<void> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const sessions = new Set<ExecSession>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands an upgrading socket over without its own error listener: a client that
    // resets it (before or after the handshake) must not take the server down.
    socket.on('error', () => socket.destroy());
    let plan: { name: string; exec: ExecFunction; request: ExecRequest; opened?: (name: string) => () => void };
    try {
      const refused = crossOriginRefusal(req, opts.origins, true);
      if (refused) throw refused;
      const path = (req.url ?? '').split('?')[0]!;
      const m = PATH.exec(req.url ?? '');
      if (!m)
        throw new ApiError(
          404,
          'NotFound',
          `no WebSocket is served at ${path.slice(0, 200)}: the API's only one is /api/v1/workspaces/{name}/exec`,
        );
      if (!opts.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized: sign in or send credentials');
      // The login gate sets the identity on the upgrade request as on any other (api/identity.ts).
      const who = identityOf(req as unknown as FastifyRequest);
      const namespace = m[1] === undefined ? who.namespace : pathNamespace(pathName(m[1]));
      authorizeNamespace(who, namespace);
      plan = planExec(objectKey(namespace, pathName(m[2]!)), strictQuery(req.url!), opts);
    } catch (err) {
      return refuse(socket, isStatusError(err) ? ApiError.from(err) : new ApiError(500, 'InternalError', String(err)));
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A frame the protocol forbids (unmasked, a reserved opcode or RSV bit, over the size
      // limit) makes ws close the socket itself (1002 or 1009) and then emit 'error': without
      // a listener that error would be thrown and end the process.
      ws.on('error', (err) =>
        app.log.warn({ workspace: plan.name, err: err.message }, 'exec WebSocket closed on a bad frame'),
      );
      void bridge(ws, plan, sessions);
    });
  });
  // Closing: every client is told why (a status, then 1001 Going Away) and its command is
  // killed; a client that does not answer the close handshake is cut a second later, so that
  // no session holds the server open.
  app.addHook('preClose', async () => {
    for (const ws of wss.clients) {
      sendStatus(ws, { error: 'Tidepool is shutting down: the command was ended' });
      ws.close(1001, 'server shutting down');
    }
    for (const s of sessions) s.kill();
    if (wss.clients.size) setTimeout(() => terminateAll(wss), SHUTDOWN_GRACE_MS).unref();
    wss.close();
  });
}

const SHUTDOWN_GRACE_MS = 1000;

function terminateAll(wss: WebSocketServer): void {
  for (const ws of wss.clients) ws.terminate();
}

function sendStatus(ws: WebSocket, status: { exitCode: number } | { error: string }): void {
  if (ws.readyState === ws.OPEN)
    ws.send(Buffer.concat([Buffer.from([CHANNEL.status]), Buffer.from(JSON.stringify(status))]));
}

/** The largest frame (or message) a client may send: stdin arrives in small pieces, 1 MiB is plenty. */
export const MAX_FRAME_BYTES = 1 << 20;

/** The workspace name of the path, percent-decoded; bad encoding is the client's error, named. */
function pathName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`the workspace name in the path is not valid percent-encoding: "${raw.slice(0, 100)}"`);
  }
}

function planExec(name: string, q: URLSearchParams, opts: { store: Store; exec: ExecHolder | undefined }) {
  const ws = opts.store.get('Workspace', name);
  if (!ws) throw notFound('workspaces', name);
  const exec = opts.exec?.exec;
  if (!exec && opts.exec?.starting)
    throw new ApiError(503, 'ServiceUnavailable', 'Tidepool is still connecting to its runtime: try again in a moment');
  if (!exec)
    throw new ApiError(
      501,
      'NotImplemented',
      `this server's runtime cannot run commands in a workspace (exec is supported on Incus)`,
    );
  if (ws.status?.phase !== 'Running') {
    throw new ApiError(
      409,
      'Conflict',
      `workspace ${name} is ${ws.status?.phase ?? 'not running yet'}: start it first (tidepool start ${name})`,
    );
  }
  const command = q.getAll('command');
  if (!command.length || command.some((c) => c === ''))
    throw badRequest('command: at least one non-empty command argument is required (?command=sh&command=-c&...)');
  const user = q.get('user') ?? 'dev';
  if (user !== 'dev' && user !== 'root') throw badRequest(`user must be dev or root, got "${user}"`);
  const tty = q.get('tty') === 'true';
  const size = (k: string) => {
    const v = q.get(k);
    if (v === null) return undefined;
    if (!/^[1-9]\d{0,3}$/.test(v)) throw badRequest(`${k} must be a whole number of cells (1..9999), got "${v}"`);
    return Number(v);
  };
  const width = size('width');
  const height = size('height');
  const env: Record<string, string> = { TERM: q.get('term') || 'xterm-256color' };
  let argv = command;
  if (user === 'dev') {
    Object.assign(env, { HOME: '/home/dev', USER: 'dev', LOGNAME: 'dev' });
    // Start in the home when it is there (an image without one still runs the command).
    argv = ['/bin/sh', '-c', 'cd "$HOME" 2>/dev/null; exec "$@"', 'sh', ...command];
  }
  const request: ExecRequest = {
    command: argv,
    tty,
    env,
    ...(user === 'dev' ? DEV : {}),
    ...(width !== undefined ? { width } : {}),
    ...(height !== undefined ? { height } : {}),
  };
  return { name, exec, request, ...(opts.exec?.opened ? { opened: opts.exec.opened } : {}) };
}

async function bridge(
  ws: WebSocket,
  plan: { name: string; exec: ExecFunction; request: ExecRequest; opened?: (name: string) => () => void },
  sessions: Set<ExecSession>,
): Promise<void> {
  const send = (channel: number, data: Uint8Array | string) => {
    if (ws.readyState !== ws.OPEN) return;
    const body =
      typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    ws.send(Buffer.concat([Buffer.from([channel]), body]));
  };
  // Input may arrive before the runtime has started the command: keep it until then.
  let session: ExecSession | undefined;
  const early: Buffer[] = [];
  const handle = (raw: Buffer) => {
    const channel = raw[0];
    const body = raw.subarray(1);
    if (channel === CHANNEL.stdin) session!.write(body);
    else if (channel === CHANNEL.close && body[0] === CHANNEL.stdin) session!.endInput();
    else if (channel === CHANNEL.resize) {
      try {
        const { width, height } = JSON.parse(body.toString('utf8')) as { width?: number; height?: number };
        if (Number.isInteger(width) && Number.isInteger(height) && width! > 0 && height! > 0)
          session!.resize(width!, height!);
      } catch {
        /* a malformed resize is ignored, as a terminal would */
      }
    }
  };
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    if (!isBinary || raw.length === 0) return;
    if (session) handle(raw);
    else early.push(raw);
  });
  try {
    session = await plan.exec(plan.name, plan.request);
  } catch (err) {
    send(CHANNEL.status, JSON.stringify({ error: errorMessage(err) }));
    ws.close(1000);
    return;
  }
  // The client went (or the server closed it) while the command was starting: it goes too.
  if (ws.readyState !== ws.OPEN) {
    session.kill();
    return;
  }
  sessions.add(session);
  // An open session is use: it keeps the workspace awake until it ends.
  const ended = plan.opened?.(plan.name);
  session.onOutput((stream, data) => send(stream === 'stdout' ? CHANNEL.stdout : CHANNEL.stderr, data));
  for (const raw of early.splice(0)) handle(raw);
  // The client went away: the command goes too (as kubectl exec's does).
  const running = session;
  ws.on('close', () => {
    if (sessions.has(running)) running.kill();
  });
  try {
    const exitCode = await running.exitCode;
    send(CHANNEL.status, JSON.stringify({ exitCode }));
  } catch (err) {
    send(CHANNEL.status, JSON.stringify({ error: errorMessage(err) }));
  } finally {
    sessions.delete(running);
    ended?.();
    ws.close(1000);
  }
}

/** An error before the upgrade: a plain HTTP reply carrying the Status, then the socket closes. */
function refuse(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  const extra = err.code === 401 ? 'WWW-Authenticate: Basic realm="tidepool", charset="UTF-8"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}
