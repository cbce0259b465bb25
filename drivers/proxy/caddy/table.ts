// Validation of a RouteTable before it becomes names in the zone: a name holds only an IP
// (the port is the IDE port, or the Port's own number), and every name must be a route name:
// a DNS label, then the namespace's when not the default (`dev.team-a`, specs/object-key.ts).
import { ProxyError, sortRouteTable, type RouteTable } from '../types.js';
import { IDE_PORT } from '../../../specs/workspace.js';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;
// ip:port, IPv4 or [IPv6]: a hosts file line holds an address, not a name.
const UPSTREAM = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):([0-9]{1,5})$/;

function checkUpstream(upstream: unknown, what: string, port: number): string {
  if (typeof upstream !== 'string' || !UPSTREAM.test(upstream)) {
    throw new ProxyError(`${what}: upstream ${JSON.stringify(upstream)} is not ip:port`, 'InvalidRouteTable');
  }
  const found = Number(upstream.slice(upstream.lastIndexOf(':') + 1));
  if (found !== port)
    throw new ProxyError(
      `${what}: upstream ${upstream} must be on port ${port} (the name holds only the address)`,
      'InvalidRouteTable',
    );
  return upstream;
}

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ProxyError(
      `${what}: name ${JSON.stringify(name)} is not a route name (a DNS label, or two: name.namespace)`,
      'InvalidRouteTable',
    );
  }
  return name;
}

/**
 * Returns the table sorted, with exact repeats collapsed. Throws ProxyError (reason
 * InvalidRouteTable) for a bad name, port or upstream, and for two entries with the
 * same key but different upstreams, naming the duplicate.
 */
export function normalizeRouteTable(table: RouteTable, idePort = IDE_PORT): RouteTable {
  const workspaces = new Map<string, string>();
  for (const w of table.workspaces) {
    checkName(w.name, 'workspace route');
    const upstream = checkUpstream(w.upstream, `workspace ${w.name}`, idePort);
    const seen = workspaces.get(w.name);
    if (seen !== undefined && seen !== upstream) {
      throw new ProxyError(`duplicate workspace route ${w.name}: ${seen} and ${upstream}`, 'InvalidRouteTable');
    }
    workspaces.set(w.name, upstream);
  }
  const ports = new Map<string, { workspace: string; port: number; upstream: string }>();
  for (const p of table.ports) {
    if (typeof p.workspace !== 'string' || !NAME.test(p.workspace)) {
      throw new ProxyError(
        `port route: workspace ${JSON.stringify(p.workspace)} is not a route name (a DNS label, or two: name.namespace)`,
        'InvalidRouteTable',
      );
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new ProxyError(
        `port route ${p.workspace}/${String(p.port)}: port must be an integer in 1..65535`,
        'InvalidRouteTable',
      );
    }
    const key = `${p.workspace}/${p.port}`;
    const upstream = checkUpstream(p.upstream, `port ${key}`, p.port);
    const seen = ports.get(key);
    if (seen !== undefined && seen.upstream !== upstream) {
      throw new ProxyError(`duplicate port route ${key}: ${seen.upstream} and ${upstream}`, 'InvalidRouteTable');
    }
    ports.set(key, { workspace: p.workspace, port: p.port, upstream });
  }
  const idle = table.idle && {
    workspaces: table.idle.workspaces.map((w) => checkName(w, 'idle workspace')),
    ports: table.idle.ports.map((key) => {
      const m = /^([^/]+)\/([0-9]{1,5})$/.exec(key);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
        throw new ProxyError(`idle port ${JSON.stringify(key)} is not workspace/port`, 'InvalidRouteTable');
      checkName(m[1], 'idle port');
      return key;
    }),
  };
  return sortRouteTable({
    workspaces: [...workspaces].map(([name, upstream]) => ({ name, upstream })),
    ports: [...ports.values()],
    ...(idle ? { idle } : {}),
  });
}
