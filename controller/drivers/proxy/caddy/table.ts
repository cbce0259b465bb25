// Validation of a RouteTable before it becomes Caddy config. Caddy's `map` handler
// rejects duplicate inputs and fails the whole load, and an upstream is used as a
// dial address after placeholder expansion, so both are checked here first.
import { ProxyError, sortRouteTable, type RouteTable } from '../types.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// host:port, host a name, IPv4 or [IPv6]; no braces (Caddy would expand them as placeholders).
const UPSTREAM = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

function checkUpstream(upstream: unknown, what: string): string {
  if (typeof upstream !== 'string' || !UPSTREAM.test(upstream)) {
    throw new ProxyError(`${what}: upstream ${JSON.stringify(upstream)} is not host:port`, 'InvalidRouteTable');
  }
  const port = Number(upstream.slice(upstream.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) throw new ProxyError(`${what}: upstream ${upstream} has no valid port`, 'InvalidRouteTable');
  return upstream;
}

/**
 * Returns the table sorted, with exact repeats collapsed. Throws ProxyError (reason
 * InvalidRouteTable) for a bad name, port or upstream, and for two entries with the
 * same key but different upstreams, naming the duplicate.
 */
export function normalizeRouteTable(table: RouteTable): RouteTable {
  const workspaces = new Map<string, string>();
  for (const w of table.workspaces) {
    if (typeof w.name !== 'string' || w.name.length > 63 || !NAME.test(w.name)) {
      throw new ProxyError(`workspace route: name ${JSON.stringify(w.name)} is not a DNS label`, 'InvalidRouteTable');
    }
    const upstream = checkUpstream(w.upstream, `workspace ${w.name}`);
    const seen = workspaces.get(w.name);
    if (seen !== undefined && seen !== upstream) {
      throw new ProxyError(`duplicate workspace route ${w.name}: ${seen} and ${upstream}`, 'InvalidRouteTable');
    }
    workspaces.set(w.name, upstream);
  }
  const ports = new Map<string, { workspace: string; port: number; upstream: string }>();
  for (const p of table.ports) {
    if (typeof p.workspace !== 'string' || p.workspace.length > 63 || !NAME.test(p.workspace)) {
      throw new ProxyError(`port route: workspace ${JSON.stringify(p.workspace)} is not a DNS label`, 'InvalidRouteTable');
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new ProxyError(`port route ${p.workspace}/${String(p.port)}: port must be an integer in 1..65535`, 'InvalidRouteTable');
    }
    const key = `${p.workspace}/${p.port}`;
    const upstream = checkUpstream(p.upstream, `port ${key}`);
    const seen = ports.get(key);
    if (seen !== undefined && seen.upstream !== upstream) {
      throw new ProxyError(`duplicate port route ${key}: ${seen.upstream} and ${upstream}`, 'InvalidRouteTable');
    }
    ports.set(key, { workspace: p.workspace, port: p.port, upstream });
  }
  return sortRouteTable({
    workspaces: [...workspaces].map(([name, upstream]) => ({ name, upstream })),
    ports: [...ports.values()],
  });
}
