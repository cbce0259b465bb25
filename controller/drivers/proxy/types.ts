// The proxy driver contract: the whole route table, converged in one call.
// Implementations: memory (tests, `--proxy memory`), caddy (admin API).

export interface WorkspaceRoute {
  /** Workspace name: /workspace/{name}/* goes to upstream. */
  name: string;
  /** host:port of the IDE, e.g. 10.77.0.12:8080. */
  upstream: string;
}

export interface PortRoute {
  workspace: string;
  port: number;
  /** host:port, e.g. 10.77.0.12:3000. */
  upstream: string;
}

/** The whole table. Kept sorted (workspaces by name, ports by workspace then port) so equal tables compare equal. */
export interface RouteTable {
  workspaces: WorkspaceRoute[];
  ports: PortRoute[];
}

export interface ProxyDriver {
  readonly name: string;
  /** Brings the proxy up (start a process, check the admin endpoint). Idempotent. */
  start?(): Promise<void>;
  /**
   * What is live now. `null` when the live state is not in the shape Tidepool built
   * (empty after a restart, edited by hand): the caller must apply.
   */
  read(): Promise<RouteTable | null>;
  /** Makes the live table exactly `table`, in one step (one reload at most). */
  apply(table: RouteTable): Promise<void>;
  /** Tells when the live state may have changed behind Tidepool's back (e.g. a restarted proxy process). */
  subscribe?(onChange: () => void): () => void;
  close?(): Promise<void>;
}

/** A failure the proxy reported, with its own message (Caddy's error text). */
export class ProxyError extends Error {
  constructor(message: string, readonly reason: string = 'ProxyError') {
    super(message);
    this.name = 'ProxyError';
  }
}

export function sortRouteTable(t: RouteTable): RouteTable {
  return {
    workspaces: [...t.workspaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ports: [...t.ports].sort((a, b) => (a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : a.port - b.port)),
  };
}

export function routeTablesEqual(a: RouteTable, b: RouteTable): boolean {
  if (a.workspaces.length !== b.workspaces.length || a.ports.length !== b.ports.length) return false;
  const x = sortRouteTable(a), y = sortRouteTable(b);
  return x.workspaces.every((w, i) => w.name === y.workspaces[i]!.name && w.upstream === y.workspaces[i]!.upstream)
    && x.ports.every((p, i) => p.workspace === y.ports[i]!.workspace && p.port === y.ports[i]!.port && p.upstream === y.ports[i]!.upstream);
}
