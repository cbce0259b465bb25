// Where an object lives: its namespace and name, and the one string that names both (its
// key). Every layer addresses Workspaces and Ports by key, never by concatenating names:
//   key      "dev" in the default namespace (exactly the name, as before namespaces existed:
//            an existing data directory, queue key, instance and URL stay what they were);
//            "team-a/dev" in any other namespace ('/' is in no DNS label, so keys never clash).
//   route    the name the proxy looks up: "dev", or "dev.team-a" (a DNS name of two labels).
//   path     where the browser reaches it: /workspace/dev/ or /ns/team-a/workspace/dev/.
import { DNS_LABEL } from './meta.js';

/** The namespace of a single-user install and of every object without metadata.namespace. */
export const DEFAULT_NAMESPACE = 'default';

export interface ObjectKey {
  namespace: string;
  name: string;
}

const DNS_LABEL_RE = new RegExp(DNS_LABEL);

/** A namespace or a name as the API accepts it: a DNS label of at most 63 characters. */
export function isDnsLabel(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && DNS_LABEL_RE.test(s);
}

/** The namespace of an object: metadata.namespace, or `default` when absent. */
export function namespaceOf(o: { metadata: { namespace?: string } }): string {
  return o.metadata.namespace || DEFAULT_NAMESPACE;
}

/** The key of name `name` in `namespace`. */
export function objectKey(namespace: string, name: string): string {
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

/** The key of a stored object or a manifest. */
export function keyOf(o: { metadata: { name: string; namespace?: string } }): string {
  return objectKey(namespaceOf(o), o.metadata.name);
}

/** A key back into its namespace and name. */
export function splitKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: DEFAULT_NAMESPACE, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The key of `name` in the namespace of `key` (a Port's workspace is in the Port's namespace). */
export function siblingKey(key: string, name: string): string {
  return objectKey(splitKey(key).namespace, name);
}

/** The proxy's name of a workspace: the key's name, then its namespace when not the default. */
export function routeName(key: string): string {
  const { namespace, name } = splitKey(key);
  return namespace === DEFAULT_NAMESPACE ? name : `${name}.${namespace}`;
}

/** The key of a proxy name (routeName's inverse). */
export function keyOfRoute(route: string): string {
  const i = route.indexOf('.');
  return i < 0 ? route : objectKey(route.slice(i + 1), route.slice(0, i));
}

/** The path prefix the browser reaches a workspace under (no trailing slash). */
export function workspacePath(key: string): string {
  const { namespace, name } = splitKey(key);
  return namespace === DEFAULT_NAMESPACE ? `/workspace/${name}` : `/ns/${namespace}/workspace/${name}`;
}
