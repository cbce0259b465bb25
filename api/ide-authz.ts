// The IDE step of /authz: a proxied request to a workspace's IDE, /workspace/{ws}/... (the
// default namespace) or /ns/{ns}/workspace/{ws}/..., passes only for someone who may see that
// namespace: its person, or an admin (api/namespaces.ts). Anyone else gets 403 naming who is
// signed in and which namespace the IDE is in. A Port's request is the Port step's (./port-authz.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_NAMESPACE, FORWARDED_URI_HEADER } from '../specs/index.js';
import type { ProxiedAccess } from './auth.js';
import { identityOf } from './identity.js';
import { authorizeNamespace } from './namespaces.js';

const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const IDE_URI = new RegExp(`^(?:/ns/(${LABEL}))?/workspace/${LABEL}(?:/|$|\\?)`);

/** The namespace of the IDE a proxied request is for; undefined for anything else. */
export function ideNamespaceOf(uri: string | undefined): string | undefined {
  const m = uri ? IDE_URI.exec(uri) : null;
  return m ? (m[1] ?? DEFAULT_NAMESPACE) : undefined;
}

export const ideAuthz: ProxiedAccess = async (req: FastifyRequest, reply: FastifyReply, signIn) => {
  const uri = req.headers[FORWARDED_URI_HEADER.toLowerCase()];
  const namespace = ideNamespaceOf(typeof uri === 'string' ? uri : undefined);
  if (namespace === undefined) return false;
  await signIn();
  authorizeNamespace(identityOf(req), namespace);
  reply.code(204).send();
  return true;
};

/** The steps in order: the first that decides a request answers it. */
export function firstOf(...steps: ProxiedAccess[]): ProxiedAccess {
  return async (req, reply, signIn) => {
    for (const step of steps) if (await step(req, reply, signIn)) return true;
    return false;
  };
}
