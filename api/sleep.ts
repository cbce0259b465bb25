// Waking and sleeping by request: POST /api/v1/workspaces/{name}/wake and .../sleep (the CLI's
// `tidepool wake|sleep`, the UI's buttons), and GET .../waking, the page the proxy shows for a
// workspace that is not running. The proxy asks for that page with the request's own
// credentials and share tokens: it wakes a workspace only for someone the route being woken
// lets in (./wake-access.ts: the reach rule for an IDE, the Port's visibility for a Port, so a
// public Port's share link without a sign-in, and otherwise only an authenticated request; the
// page runs the login itself, only when the decision needs a person), and only for a page
// opened in a browser or a client such as curl, never a WebSocket or a script's fetch (see
// wakes()). The page reloads itself every 2 s, so a browser lands in the IDE once it answers;
// curl gets 503, Retry-After and one line.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import { keyOfRoute, objectKey, type SleepAnswer, type SleepService } from '../specs/index.js';
import type { Store } from '../store/index.js';
import { ApiError } from './errors.js';
import type { ReachCheck } from './forward-auth.js';
import { namespacePath, requestNamespace } from './namespaces.js';
import { NameParams, type TypeBoxProvider } from './params.js';
import { decideWake, shareTokensOf, type WakeDecision, type WakeRequest } from './wake-access.js';
import type { SignsItselfIn } from './auth.js';

/** Filled in once the controller is up (the API starts before it). */
export interface SleepHolder {
  service?: SleepService;
  starting?: boolean;
}

function serviceOf(holder: SleepHolder | undefined): SleepService {
  if (holder?.service) return holder.service;
  if (holder?.starting) throw new ApiError(503, 'ServiceUnavailable', 'the controller is starting; try again shortly');
  throw new ApiError(501, 'NotImplemented', 'this server runs no controller (API only): nothing sleeps or wakes');
}

const CODES: Record<SleepAnswer['outcome'], [number, string]> = {
  Asleep: [200, 'Success'],
  Waking: [200, 'Success'],
  Awake: [200, 'Success'],
  Stopped: [409, 'Conflict'],
  NotRunning: [409, 'Conflict'],
  NotFound: [404, 'NotFound'],
};

function answer(name: string, a: SleepAnswer) {
  const [code, reason] = CODES[a.outcome];
  if (code !== 200) throw new ApiError(code, reason, a.message, { name, kind: 'workspaces' });
  return {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Success',
    code,
    reason: a.outcome,
    message: a.message,
    details: { name, kind: 'workspaces' },
  };
}

const tags = ['Workspace'];
const ok = (description: string) => ({
  200: { description, content: { 'application/json': { schema: { type: 'object' } } } },
});
const WakingQuery = Type.Object({
  kind: Type.Optional(Type.Union([Type.Literal('ide'), Type.Literal('port')])),
  port: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$' })),
});

export interface SleepPluginOptions {
  holder: SleepHolder | undefined;
  store: Store;
  /** Who may reach which IDE (the proxy's rule); everyone signed in when left out. */
  reach?: ReachCheck | undefined;
  /** The key of the Ports' share tokens (./port-share.ts): a public Port's link wakes it without a sign-in. */
  shareKey: Buffer;
  /** The login step (./auth.ts signInStep): the waking page signs in itself, only when it must. */
  signIn: (req: FastifyRequest) => Promise<void>;
}

export const sleepPlugin = fp(
  async (app: FastifyInstance, { holder, store, reach, shareKey, signIn }: SleepPluginOptions) => {
    const r = app.withTypeProvider<TypeBoxProvider>();
    // On today's path (the requester's own namespace) and on a namespace's (api/namespaces.ts).
    for (const prefix of ['/api/v1', namespacePath(':namespace')]) {
      const wake = { operationId: 'wakeWorkspace', tags, params: NameParams, responses: ok('A Status') };
      r.post(`${prefix}/workspaces/:name/wake`, { schema: wake }, async (req) => {
        const key = objectKey(requestNamespace(req), req.params.name);
        return answer(key, serviceOf(holder).wake(key, 'a request to the API'));
      });
      const sleep = { operationId: 'sleepWorkspace', tags, params: NameParams, responses: ok('A Status') };
      r.post(`${prefix}/workspaces/:name/sleep`, { schema: sleep }, async (req) => {
        const key = objectKey(requestNamespace(req), req.params.name);
        return answer(key, serviceOf(holder).sleep(key, 'a request to the API'));
      });
    }
    const waking = {
      operationId: 'wakingPage',
      tags,
      params: NameParams,
      querystring: WakingQuery,
      responses: { 503: { description: 'The waking page (HTML for a browser, one line otherwise)' } },
    };
    const config: SignsItselfIn = { signsItselfIn: true };
    r.get('/api/v1/workspaces/:name/waking', { schema: waking, config }, async (req, reply) => {
      const decision = await decide(req, store, shareKey, reach, signIn);
      if (!decision.wake && 'forbidden' in decision) throw new ApiError(403, 'Forbidden', decision.forbidden);
      if (!decision.wake) return notAsleep(reply);
      return wakingPage(req, reply, serviceOf(holder), store);
    });
  },
  { name: 'tidepool-sleep', fastify: '5.x' },
);

/**
 * Whether a request through the proxy wakes a sleeping workspace: a page opened in a browser
 * (a navigation) or a client such as curl; never a WebSocket or a script's fetch (an IDE tab
 * left open reconnects by itself, and would wake its workspace as soon as it slept).
 */
function wakes(req: FastifyRequest): boolean {
  if (String(req.headers['x-tp-upgrade'] ?? '') !== '') return false;
  // A browser says what a request is for: a page (document) wakes, a script's fetch, an image or
  // a stylesheet does not. Clients that do not say (curl, undici) wake.
  const dest = req.headers['sec-fetch-dest'];
  return dest === undefined || dest === 'document';
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type WakingRequest = FastifyRequest<{
  Params: { name: string };
  Querystring: { kind?: 'ide' | 'port'; port?: string };
}>;

const notAsleep = (reply: FastifyReply) =>
  reply.code(404).send({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not asleep' });

/**
 * Whether this request may wake what it names: what the route being woken would decide
 * (./wake-access.ts), signing in first only when that needs a person (a public Port's share
 * link does not).
 */
async function decide(
  req: WakingRequest,
  store: Store,
  shareKey: Buffer,
  reach: ReachCheck | undefined,
  signIn: (req: FastifyRequest) => Promise<void>,
): Promise<WakeDecision> {
  // The proxy names the workspace by its route name (dev, or dev.team-a: specs/object-key.ts).
  const wake: WakeRequest = {
    workspace: keyOfRoute(req.params.name),
    kind: req.query.kind ?? 'ide',
    port: req.query.port === undefined ? undefined : Number(req.query.port),
    host: String(req.headers.host ?? ''),
    ...shareTokensOf(req),
  };
  const first = decideWake(store, shareKey, req.identity, wake, reach);
  if (first.wake || !('needSignIn' in first)) return first;
  // (A test app may have set the identity already; in a server only the login sets it.)
  if (!req.identity) await signIn(req);
  return decideWake(store, shareKey, req.identity, wake, reach);
}

/**
 * Wakes the workspace when it sleeps (or says it is starting) with a 503 that says what is
 * happening now; a 404 when it is not one to wake (unknown, stopped, running), and then the
 * proxy answers with its own pages as for any name without an upstream.
 */
function wakingPage(req: WakingRequest, reply: FastifyReply, service: SleepService, store: Store) {
  const name = keyOfRoute(req.params.name);
  const notMine = () => notAsleep(reply);
  let waking = false;
  if (wakes(req)) {
    waking = service.wake(name, 'opening it through the proxy').outcome === 'Waking';
    if (!waking) return notMine();
  } else if (!store.get('Workspace', name)?.status?.sleep) return notMine();
  const ws = store.get('Workspace', name);
  const what =
    req.query.kind === 'port' ? `Port ${req.query.port ?? ''} of workspace "${name}"` : `Workspace "${name}"`;
  const ready = ws?.status?.conditions?.find((c) => c.type === 'Ready');
  const now = ws?.status?.phase ? `${ws.status.phase}${ready?.message ? `: ${ready.message}` : ''}` : 'Pending';
  const line = waking
    ? `${what} is waking up (${ws?.status?.phase ?? 'Pending'}); retry in a few seconds`
    : `${what} is asleep; opening it in a browser (or \`tidepool wake ${name}\`) wakes it`;
  // Where the UI is, as Caddy's pages say it (X-Tp-Ui, set by the proxy): a link to see why.
  const ui = /^https?:\/\/[^\s"'<>]+$/.exec(String(req.headers['x-tp-ui'] ?? ''))?.[0];
  reply.code(503).header('Cache-Control', 'no-store').header('X-Content-Type-Options', 'nosniff');
  if (waking) reply.header('Retry-After', '2');
  if (!String(req.headers.accept ?? '').includes('text/html'))
    return reply.type('text/plain; charset=utf-8').send(`503: ${line}${ui ? ` (Tidepool: ${ui})` : ''}\n`);
  const title = waking ? `Waking ${name}…` : `${name} is asleep`;
  const body = waking
    ? `<p>${escapeHtml(what)} was asleep and is starting now. This page reloads itself and opens it as soon as it answers.</p><p>Now: <output>${escapeHtml(now)}</output></p>`
    : `<p>${escapeHtml(line)}.</p>`;
  const link = ui ? `<p><a href="${escapeHtml(ui)}">Open Tidepool</a> to see more.</p>` : '';
  return reply
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8">${waking ? '<meta http-equiv="refresh" content="2">' : ''}<title>${escapeHtml(title)}</title>` +
        '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}</style></head>' +
        `<body><h1 id="tp-waking">${escapeHtml(title)}</h1>${body}${link}</body></html>\n`,
    );
}
