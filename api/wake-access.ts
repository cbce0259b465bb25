// Who may wake a workspace through the waking page (./sleep.ts): exactly whom the route being
// woken would let in, so that the page is no side door. The proxy asks for the page after its own
// forward auth passed, but the page is an API route anyone signed in can call directly (and a
// request to a port no Port publishes passes the forward auth for anyone signed in):
//   an IDE:  the proxy's reach rule (./ide-authz.ts: its namespace's person and admins);
//   a Port:  the Port's visibility (./port-access.ts): a public Port's share token (in the
//            original path or the share cookie, which the proxy forwards as for /authz) without
//            a sign-in, else the signed-in person; a port that no Port publishes has no route to
//            open, so there is nothing to wake for it.
import type { FastifyRequest } from 'fastify';
import { FORWARDED_URI_HEADER, SHARE_HEADER, workspacePath } from '../specs/index.js';
import type { Store } from '../store/index.js';
import type { ReachCheck } from './forward-auth.js';
import type { Identity } from './identity.js';
import { decidePortAccess, portTargetOf } from './port-access.js';
import { shareTokenMatches } from './port-share.js';

export interface WakeRequest {
  /** The workspace's key (specs/object-key.ts). */
  workspace: string;
  kind: 'ide' | 'port';
  /** The port asked for (a Port's request only). */
  port?: number | undefined;
  /** The Host the browser addressed, for the reach rule. */
  host: string;
  /** The share token in the original path (`.../tp-share/{token}/`), if any. */
  pathToken?: string | undefined;
  /** The share cookie's token, if any. */
  cookieToken?: string | undefined;
}

export type WakeDecision =
  | { wake: true }
  /** Only a signed-in person may: sign in, then decide again with the identity. */
  | { wake: false; needSignIn: true }
  /** Not this person's to open: 403 with the message (naming them, as the route's own 403 does). */
  | { wake: false; forbidden: string }
  /** Nothing the route would open: the proxy's own pages answer, as for any name without an upstream. */
  | { wake: false; nothingToOpen: true };

const headerOf = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name.toLowerCase()];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** The share tokens the proxy forwarded with the waking page's request (drivers/proxy/caddy/routes.ts wakeHop). */
export function shareTokensOf(req: FastifyRequest): Pick<WakeRequest, 'pathToken' | 'cookieToken'> {
  return {
    pathToken: portTargetOf(headerOf(req, FORWARDED_URI_HEADER))?.pathToken,
    cookieToken: headerOf(req, SHARE_HEADER),
  };
}

/** `who` is undefined before the request signed in (the page asks for a sign-in only when it must). */
export function decideWake(
  store: Store,
  shareKey: Buffer,
  who: Identity | undefined,
  r: WakeRequest,
  reach: ReachCheck | undefined,
): WakeDecision {
  if (r.kind === 'ide') {
    if (!who) return { wake: false, needSignIn: true };
    const why = reach?.(who, {
      method: 'GET',
      uri: `${workspacePath(r.workspace)}/`,
      host: r.host,
      proto: 'http',
      upgrade: false,
    });
    // Worded as the forward auth's own 403 (./forward-auth.ts), naming who is signed in.
    return why
      ? { wake: false, forbidden: `Forbidden: signed in as ${who.name} (namespace ${who.namespace}): ${why}` }
      : { wake: true };
  }
  const port = store.portsOf(r.workspace).find((p) => p.spec.port === r.port);
  if (!port) return who ? { wake: false, nothingToOpen: true } : { wake: false, needSignIn: true };
  const decision = decidePortAccess({
    port,
    identity: who,
    pathTokenMatches: shareTokenMatches(shareKey, port, r.pathToken),
    cookieTokenMatches: shareTokenMatches(shareKey, port, r.cookieToken),
  });
  if (decision.allow) return { wake: true };
  if (decision.needSignIn) return { wake: false, needSignIn: true };
  return { wake: false, forbidden: decision.message };
}
