// Who a request comes from. The login gate sets it once the request's credentials check out
// (basic auth, a session cookie or a Bearer token); everything that decides what a person may see
// or change (namespaces, quotas, Port visibility, the field manager) reads it from here and
// never from headers of its own.
import type { FastifyRequest } from 'fastify';

/** The namespace a single-user install (and every manifest without metadata.namespace) uses. */
export const DEFAULT_NAMESPACE = 'default';

export interface Identity {
  /** The person's name as the identity provider says it (or the basic-auth user name). */
  readonly name: string;
  /** Their own namespace: where their workspaces live unless they name another (admins only). */
  readonly namespace: string;
  /** An admin sees and changes every namespace. */
  readonly admin: boolean;
  /** Groups from the provider's claims (empty for basic auth). */
  readonly groups: readonly string[];
  /** How the request proved it: for the audit trail and for the CSRF rules (a cookie needs an Origin check). */
  readonly via: 'basic' | 'session' | 'token' | 'none';
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

/**
 * The one person of a single-user install: admin of everything, working in the default
 * namespace, exactly what every request was before sign-in existed.
 */
export function localAdmin(name: string, via: Identity['via'] = 'basic'): Identity {
  return { name, namespace: DEFAULT_NAMESPACE, admin: true, groups: [], via };
}

/** The identity the login gate set on this request; a request without one is the local admin. */
export function identityOf(req: FastifyRequest): Identity {
  return req.identity ?? localAdmin('admin', 'none');
}
