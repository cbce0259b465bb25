// The proxy driver contract: the whole route table, converged in one call.
// Implementations: memory (tests, `--proxy memory`), caddy (a Caddy whose config is fixed at
// boot, looking every route up by name in a zone a supervised dnsmasq serves).
import { DriverError } from '../errors.js';

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

/**
 * Names that exist but are not Ready: a workspace stopped or starting, a Port of such a
 * workspace. The proxy answers them with a "not running" page (503) instead of the "unknown"
 * page (404) it gives every other name. A workspace may be routed and idle at once: starting,
 * with its route published before its IDE answers; a refusal then is "not running" too.
 */
export interface IdleNames {
  workspaces: string[];
  /** "workspace/port". */
  ports: string[];
}

/** The whole table. Kept sorted (workspaces by name, ports by workspace then port) so equal tables compare equal. */
export interface RouteTable {
  workspaces: WorkspaceRoute[];
  ports: PortRoute[];
  /** Absent: no idle names (every name without a route is unknown). */
  idle?: IdleNames;
}

export interface ProxyCloseOptions {
  /** Stop supervising but leave the proxy's processes running (the next Tidepool adopts them). Default false. */
  keepRunning?: boolean;
}

export interface ProxyDriver {
  readonly name: string;
  /** Brings the proxy up (start or adopt its processes, check the admin endpoint). Idempotent. */
  start?(): Promise<void>;
  /**
   * What is live now. `null` when the live state is not in the shape Tidepool built
   * (empty after a restart, edited by hand): the caller must apply.
   */
  read(): Promise<RouteTable | null>;
  /** Makes the live table exactly `table`, in one step. */
  apply(table: RouteTable): Promise<void>;
  /** Tells when the live state may have changed behind Tidepool's back (e.g. a restarted proxy process). */
  subscribe?(onChange: () => void): () => void;
  /** Tells each request the proxy served for a workspace (its IDE or a Port), from its access log. */
  subscribeAccess?(onAccess: (workspace: string) => void): () => void;
  close?(opts?: ProxyCloseOptions): Promise<void>;
}

/** A failure the proxy reported, with its own message (Caddy's error text). */
/** Where a proxy serves the UI and API, the IDEs, and the Ports unless told otherwise. */
export const DEFAULT_PORTS = { app: 8080, workspace: 8081, preview: 8082 } as const;

/** Every reason a ProxyError may carry (a CamelCase word for conditions). */
export const PROXY_ERROR_REASONS = [
  'ProxyError',
  'InvalidRouteTable',
  'ProxyUnavailable',
  'ProxyUnreachable',
  'ProxyConfigRejected',
] as const;
export type ProxyErrorReason = (typeof PROXY_ERROR_REASONS)[number];

export class ProxyError extends DriverError<ProxyErrorReason> {
  constructor(message: string, reason: ProxyErrorReason = 'ProxyError') {
    super(message, reason);
  }
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sortRouteTable(t: RouteTable): RouteTable {
  const out: RouteTable = {
    workspaces: [...t.workspaces].sort((a, b) => byString(a.name, b.name)),
    ports: [...t.ports].sort((a, b) =>
      a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : a.port - b.port,
    ),
  };
  if (t.idle && (t.idle.workspaces.length || t.idle.ports.length)) {
    out.idle = {
      workspaces: [...new Set(t.idle.workspaces)].sort(byString),
      ports: [...new Set(t.idle.ports)].sort(byString),
    };
  }
  return out;
}

export function routeTablesEqual(a: RouteTable, b: RouteTable): boolean {
  if (a.workspaces.length !== b.workspaces.length || a.ports.length !== b.ports.length) return false;
  const x = sortRouteTable(a),
    y = sortRouteTable(b);
  const idleX = JSON.stringify(x.idle ?? null),
    idleY = JSON.stringify(y.idle ?? null);
  return (
    idleX === idleY &&
    x.workspaces.every((w, i) => w.name === y.workspaces[i]!.name && w.upstream === y.workspaces[i]!.upstream) &&
    x.ports.every(
      (p, i) =>
        p.workspace === y.ports[i]!.workspace && p.port === y.ports[i]!.port && p.upstream === y.ports[i]!.upstream,
    )
  );
}
