// Who may open a Port through the proxy: the decision the API's /authz makes for a request to
// /workspace/{ws}/port/{n}/... (Caddy's forward auth sends the original URI in
// X-Forwarded-Uri and the share cookie's value in X-Tidepool-Share). Nothing is reloaded: each
// request reads the Port as it is now.
//   private (the default): the person of the Port's namespace, and admins;
//   team: anyone signed in;
//   public: anyone with the Port's current share token (in the path or the cookie it sets),
//           and else as team.
// A request for a port no Port publishes needs a sign-in (the proxy then shows its own page).
import type { Identity } from './identity.js';
import { DEFAULT_NAMESPACE } from './identity.js';
import { SHARE_SEGMENT, objectKey, type Port, type PortVisibility } from '../specs/index.js';

/** A Port's namespace. */
export function namespaceOfPort(port: Pick<Port, 'metadata'>): string {
  return port.metadata.namespace ?? DEFAULT_NAMESPACE;
}

export const visibilityOf = (port: Pick<Port, 'spec'>): PortVisibility => port.spec.visibility ?? 'private';

export interface PortTarget {
  /** The workspace's key (specs/object-key.ts): its name, after /ns/{namespace}'s namespace. */
  workspace: string;
  port: number;
  /** The share token in the path (`/tp-share/{token}/`), if any. */
  pathToken?: string;
}

const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
/** [/ns/{namespace}]/workspace/{ws}/port/{n}: a workspace outside the default namespace is under /ns/. */
const PORT_URI = new RegExp(`^(?:/ns/(${LABEL}))?/workspace/(${LABEL})/port/([0-9]{1,5})(?:/|$|\\?)`);
const TOKEN_URI = new RegExp(
  `^(?:/ns/[^/]+)?/workspace/[^/]+/port/[0-9]+/${SHARE_SEGMENT}/([A-Za-z0-9_-]+)(?:/|$|\\?)`,
);

/**
 * A path the proxy would read differently than it is written: dot segments, empty segments,
 * encoded dots, slashes or backslashes. The proxy's route matchers see the cleaned path, so
 * `/workspace/a/port/3000/tp-share/T/../../../../b/` must not be judged as a request for a's Port.
 */
export function uncleanPath(uri: string): boolean {
  const path = uri.split('?')[0]!;
  return /(^|\/)\.{1,2}(\/|$)|\/\/|\\|%2e|%2f|%5c/i.test(path);
}

/** The Port a proxied request is for, from its original URI; undefined for the UI and the IDEs. */
export function portTargetOf(uri: string | undefined): PortTarget | undefined {
  if (!uri) return undefined;
  const m = PORT_URI.exec(uri);
  if (!m) return undefined;
  const token = TOKEN_URI.exec(uri)?.[1];
  return {
    workspace: objectKey(m[1] ?? DEFAULT_NAMESPACE, m[2]!),
    port: Number(m[3]),
    ...(token ? { pathToken: token } : {}),
  };
}

export type PortDecision =
  /** Let it through; `setShareCookie` when the token came in the path (the rest of the visit uses the cookie). */
  | { allow: true; setShareCookie?: boolean }
  /** Only a signed-in person may pass: check the credentials, then decide again with the identity. */
  | { allow: false; needSignIn: true }
  | { allow: false; needSignIn: false; message: string };

export interface PortAccessInput {
  /** The Port publishing the requested port, if one does. */
  port: Pick<Port, 'metadata' | 'spec'> | undefined;
  /** Who signed in; undefined before the credentials were checked (or without any). */
  identity: Identity | undefined;
  /** Whether the token in the path matches the Port's current one. */
  pathTokenMatches: boolean;
  /** Whether the token in the share cookie matches. */
  cookieTokenMatches: boolean;
}

export function decidePortAccess(i: PortAccessInput): PortDecision {
  if (i.port && visibilityOf(i.port) === 'public' && (i.pathTokenMatches || i.cookieTokenMatches))
    return i.pathTokenMatches && !i.cookieTokenMatches ? { allow: true, setShareCookie: true } : { allow: true };
  if (!i.identity) return { allow: false, needSignIn: true };
  if (!i.port || i.identity.admin) return { allow: true };
  const visibility = visibilityOf(i.port);
  if (visibility === 'team' || visibility === 'public') return { allow: true };
  const ns = namespaceOfPort(i.port);
  if (i.identity.namespace === ns) return { allow: true };
  return {
    allow: false,
    needSignIn: false,
    message: `Forbidden: the Port ${i.port.metadata.name} is private to its owner (namespace ${ns}); you are signed in as ${i.identity.name}`,
  };
}
