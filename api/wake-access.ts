// Who may wake a workspace through the waking page (./sleep.ts): exactly whom the route being
// woken would let in, so that the page is no side door. The proxy asks for the page after its own
// forward auth passed, but the page is an API route anyone signed in can call directly (and a
// request to a port no Port publishes passes the forward auth for anyone signed in):
//   an IDE:  the proxy's reach rule (./ide-authz.ts: its namespace's person and admins);
//   a Port:  the Port's visibility (./port-access.ts) for the signed-in person; a port that no
//            Port publishes has no route to open, so there is nothing to wake for it.
import type { Store } from '../store/index.js';
import type { ReachCheck } from './forward-auth.js';
import type { Identity } from './identity.js';
import { decidePortAccess } from './port-access.js';
import { workspacePath } from '../specs/index.js';

export interface WakeRequest {
  /** The workspace's key (specs/object-key.ts). */
  workspace: string;
  kind: 'ide' | 'port';
  /** The port asked for (a Port's request only). */
  port?: number | undefined;
  /** The Host the browser addressed, for the reach rule. */
  host: string;
}

export type WakeDecision =
  | { wake: true }
  /** Not this person's to open: 403 with the message (naming them, as the route's own 403 does). */
  | { wake: false; forbidden: string }
  /** Nothing the route would open: the proxy's own pages answer, as for any name without an upstream. */
  | { wake: false; nothingToOpen: true };

export function decideWake(store: Store, who: Identity, r: WakeRequest, reach: ReachCheck | undefined): WakeDecision {
  if (r.kind === 'ide') {
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
  if (!port) return { wake: false, nothingToOpen: true };
  // Only a signed-in person reaches this page (the login gate): a share token adds nothing to
  // what a public Port already lets them do.
  const decision = decidePortAccess({ port, identity: who, pathTokenMatches: false, cookieTokenMatches: false });
  if (decision.allow) return { wake: true };
  return { wake: false, forbidden: decision.needSignIn ? 'Forbidden' : decision.message };
}
