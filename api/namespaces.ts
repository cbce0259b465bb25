// Which namespace a request addresses, and whether its person may: the authorization of every
// route that reads or writes Workspaces, Ports and their Events. It reads only identityOf()
// (api/identity.ts), never headers of its own.
//   /api/v1/namespaces/{ns}/{plural}/...   the namespace on the path (Kubernetes' form)
//   /api/v1/{plural}/...                   the requester's own namespace (`default` for a
//                                          single-user install: every script written before
//                                          namespaces keeps addressing what it did)
//   /api/v1/{plural}?allNamespaces=true    every namespace (admins only), as kubectl -A
// A person who is not an admin reads and writes only their own namespace, and writes no
// server-wide object (an ImageTemplate, a Quota); anything else is 403 naming who asked and what.
import type { FastifyRequest } from 'fastify';
import { isDnsLabel, type KindInfo } from '../specs/index.js';
import { badRequest, forbidden } from '../store/index.js';
import { DEFAULT_MANAGER } from '../store/ownership.js';
import { identityOf, type Identity } from './identity.js';

/** The path prefix of a namespace's collections. */
export const namespacePath = (namespace: string) => `/api/v1/namespaces/${namespace}`;

/** 403 unless `who` may see and change namespace `namespace`. */
export function authorizeNamespace(who: Identity, namespace: string): void {
  if (who.admin || who.namespace === namespace) return;
  throw forbidden(
    `"${who.name}" (signed in, namespace "${who.namespace}") may not access namespace "${namespace}": a person sees and changes only their own namespace; an admin sees all`,
    { kind: 'namespaces', name: namespace },
  );
}

/** 403 unless `who` may write server-wide objects of `info` (ImageTemplates, Quotas: admins only). */
export function authorizeClusterWrite(who: Identity, info: KindInfo): void {
  if (who.admin || info.namespaced) return;
  throw forbidden(
    `"${who.name}" (signed in, namespace "${who.namespace}") may not change ${info.plural}: they are the whole server's, and only an admin writes them`,
    { kind: info.plural },
  );
}

/** 403 unless `who` is an admin: what is the whole server's and no one namespace's (orphaned instances). */
export function authorizeAdmin(who: Identity, what: string): void {
  if (who.admin) return;
  throw forbidden(`"${who.name}" (signed in, namespace "${who.namespace}") may not ${what}: only an admin may`);
}

/** The namespace on the path, checked as a DNS label (400 naming it otherwise). */
export function pathNamespace(raw: string): string {
  if (!isDnsLabel(raw))
    throw badRequest(`namespace "${raw.slice(0, 100)}" on the path is not a DNS label`, [
      {
        field: 'namespace',
        reason: 'FieldValueInvalid',
        message: "must be a DNS label: lowercase letters, digits and '-', 1..63, starting and ending alphanumeric",
      },
    ]);
  return raw;
}

/**
 * The namespace a request addresses and may use: the path's, or the person's own. Throws 403
 * when they may not.
 */
export function requestNamespace(req: FastifyRequest): string {
  const who = identityOf(req);
  const raw = (req.params as { namespace?: string } | undefined)?.namespace;
  const namespace = raw === undefined ? who.namespace : pathNamespace(raw);
  authorizeNamespace(who, namespace);
  return namespace;
}

/** An admin's request for every namespace at once (`?allNamespaces=true`); 403 for anyone else. */
export function wantsAllNamespaces(req: FastifyRequest, flag: string | undefined): boolean {
  if (flag !== 'true' && flag !== '1') return false;
  const who = identityOf(req);
  if (!who.admin)
    throw forbidden(
      `"${who.name}" (signed in, namespace "${who.namespace}") may not list every namespace: only an admin may (allNamespaces=true)`,
      { kind: 'namespaces' },
    );
  return true;
}

/**
 * Who a write is recorded as (managedFields, and through them the events): `?fieldManager=`
 * when given, else the person signed in (a session or a token). The one person of a basic-auth
 * install, and a request no sign-in checked, keep the name writes had before (tidepool-api): a
 * single-user install notices nothing new.
 */
export function managerOf(req: FastifyRequest, q: { fieldManager?: string | undefined }): string {
  if (q.fieldManager) return q.fieldManager;
  const who = identityOf(req);
  return who.via === 'none' || who.via === 'basic' ? DEFAULT_MANAGER : who.name;
}
