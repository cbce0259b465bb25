// Queue keys. A key names what to reconcile, never what happened.

export const ROUTES_KEY = 'routes';

export const workspaceKey = (name: string) => `workspace/${name}`;
export const portKey = (name: string) => `port/${name}`;
export const templateKey = (name: string) => `template/${name}`;

/** The key of an object of a kind the controller reconciles (a Workspace's for any other kind). */
export function keyOf(kind: string, name: string): string {
  return kind === 'Port' ? portKey(name) : kind === 'ImageTemplate' ? templateKey(name) : workspaceKey(name);
}

export type ParsedKey = { kind: 'workspace' | 'port' | 'template'; name: string } | { kind: 'routes' };

export function parseKey(key: string): ParsedKey | undefined {
  if (key === ROUTES_KEY) return { kind: 'routes' };
  const i = key.indexOf('/');
  const kind = key.slice(0, i),
    name = key.slice(i + 1);
  if (i > 0 && name && (kind === 'workspace' || kind === 'port' || kind === 'template')) return { kind, name };
  return undefined;
}
