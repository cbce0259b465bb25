// What the routes reconciler last saw in the proxy, shared with the workspace and port
// reconcilers so they can tell whether their route is live (RouteReady, Ready).
// The proxy names workspaces by route name (`dev.team-a`); this state, like the rest of the
// controller, by key (`team-a/dev`, specs/object-key.ts).
import type { ProxyErrorReason, RouteTable } from '../drivers/proxy/types.js';
import { keyOfRoute } from '../specs/index.js';

export class RouteState {
  #workspaces = new Map<string, string>();
  #ports = new Map<string, string>();
  #known = false;
  /** The proxy's message from the last failed read or apply; undefined after a success. */
  lastError: string | undefined;
  /** The CamelCase reason of that failure for conditions (ProxyUnreachable, ProxyConfigRejected, ...). */
  lastErrorReason: ProxyErrorReason = 'ProxyError';

  /** False until the proxy was read once, and after a failed read (then nothing is confirmed live). */
  get known(): boolean {
    return this.#known;
  }

  workspaceUpstream(name: string): string | undefined {
    return this.#workspaces.get(name);
  }

  portUpstream(workspace: string, port: number): string | undefined {
    return this.#ports.get(`${workspace}/${port}`);
  }

  /** Any route of `workspace` (its own or a port's) is live, or it cannot be told. */
  mayRoute(workspace: string): boolean {
    if (!this.#known) return true;
    if (this.#workspaces.has(workspace)) return true;
    for (const key of this.#ports.keys()) if (key.slice(0, key.lastIndexOf('/')) === workspace) return true;
    return false;
  }

  /** Workspace keys in the live table. */
  workspaceNames(): string[] {
    return [...this.#workspaces.keys()];
  }

  /**
   * Records the live table (undefined: unknown). Returns the workspaces (keys) and `key/port`
   * routes that appeared, went or changed upstream.
   */
  setLive(table: RouteTable | undefined): { workspaces: Set<string>; ports: Set<string> } {
    const ws = new Map((table?.workspaces ?? []).map((w) => [keyOfRoute(w.name), w.upstream]));
    const ports = new Map((table?.ports ?? []).map((p) => [`${keyOfRoute(p.workspace)}/${p.port}`, p.upstream]));
    const changed = { workspaces: diff(this.#workspaces, ws), ports: diff(this.#ports, ports) };
    this.#workspaces = ws;
    this.#ports = ports;
    this.#known = table !== undefined;
    return changed;
  }
}

function diff(a: Map<string, string>, b: Map<string, string>): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of a) if (b.get(k) !== v) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return out;
}
