// The namespaces' rule for the proxy (the `reach` check of /authz, api/forward-auth.ts): an IDE,
// /workspace/{ws}/... (the default namespace) or /ns/{ns}/workspace/{ws}/..., opens only for
// someone who may see its namespace: its person, or an admin (api/namespaces.ts). Anyone else
// gets the 403 page naming who is signed in and which namespace the IDE is in. A Port's request
// is decided before by its visibility (./port-authz.ts).
import { DEFAULT_NAMESPACE } from '../specs/index.js';
import type { ReachCheck } from './forward-auth.js';

const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const IDE_URI = new RegExp(`^(?:/ns/(${LABEL}))?/workspace/${LABEL}(?:/|$|\\?)`);

/** The namespace of the IDE a proxied request is for; undefined for anything else (the UI, the API). */
export function ideNamespaceOf(uri: string | undefined): string | undefined {
  const m = uri ? IDE_URI.exec(uri) : null;
  return m ? (m[1] ?? DEFAULT_NAMESPACE) : undefined;
}

export const namespaceReach: ReachCheck = (who, target) => {
  const namespace = ideNamespaceOf(target.uri);
  if (namespace === undefined || who.admin || who.namespace === namespace) return undefined;
  return `this IDE is in namespace "${namespace}"; a person opens only their own namespace's workspaces (an admin, every one)`;
};
