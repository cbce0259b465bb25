// Queue keys. A key names what to reconcile, never what happened.

export const ROUTES_KEY = 'routes';

export const workspaceKey = (name: string) => `workspace/${name}`;
export const portKey = (name: string) => `port/${name}`;

export type ParsedKey = { kind: 'workspace' | 'port'; name: string } | { kind: 'routes' };

export function parseKey(key: string): ParsedKey | undefined {
  if (key === ROUTES_KEY) return { kind: 'routes' };
  const i = key.indexOf('/');
  const kind = key.slice(0, i),
    name = key.slice(i + 1);
  if (i > 0 && name && (kind === 'workspace' || kind === 'port')) return { kind, name };
  return undefined;
}
