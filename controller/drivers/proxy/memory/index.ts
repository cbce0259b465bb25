// The memory proxy: a route table in memory, for tests, benchmarks and
// `tidepool serve --proxy memory`. Counts calls and lets tests cause drift.
import { ProxyError, sortRouteTable, type ProxyDriver, type RouteTable } from '../types.js';

export type MemoryProxyOp = 'read' | 'apply';

export interface MemoryProxy extends ProxyDriver {
  /** Calls made through the driver interface, by operation. */
  readonly calls: Record<MemoryProxyOp, number>;
  /** The live routes (null before the first apply or after `reset`), without counting a read; idle names apart. */
  table(): RouteTable | null;
  /** The idle names of the live table (exist, get no traffic), without counting a read. */
  idle(): { workspaces: string[]; ports: string[] };
  /**
   * Drift: removes the route of `workspace` (and its port routes), or only its port route `port`.
   * Like an edit by hand, it tells subscribers only when `notify` is true: the resync finds it.
   */
  removeRoute(workspace: string, port?: number, opts?: { notify?: boolean }): void;
  /** Drift: forgets everything, as a proxy restarted with an empty config. Tells subscribers unless notify is false. */
  reset(opts?: { notify?: boolean }): void;
  /** A request for `workspace` went through the proxy (as an access log entry would say). */
  access(workspace: string): void;
  /**
   * Makes the next `times` calls of `op` fail with a ProxyError carrying `message`; with `when`,
   * only applies of a table it accepts count (e.g. the first one routing a workspace).
   */
  fail(op: MemoryProxyOp, times?: number, message?: string, when?: (table: RouteTable) => boolean): void;
}

const clone = (t: RouteTable): RouteTable => sortRouteTable(structuredClone(t));

export function createMemoryProxy(): MemoryProxy {
  let live: RouteTable | null = null;
  const calls: Record<MemoryProxyOp, number> = { read: 0, apply: 0 };
  const failures: { op: MemoryProxyOp; times: number; message: string; when?: (table: RouteTable) => boolean }[] = [];
  const listeners = new Set<() => void>();
  const accessListeners = new Set<(workspace: string) => void>();

  const check = (op: MemoryProxyOp, table?: RouteTable) => {
    calls[op]++;
    const i = failures.findIndex((f) => f.op === op && (!f.when || (table !== undefined && f.when(table))));
    if (i < 0) return;
    const f = failures[i]!;
    if (--f.times <= 0) failures.splice(i, 1);
    throw new ProxyError(f.message);
  };

  return {
    name: 'memory',
    calls,
    async start() {},
    async read() {
      check('read');
      return live && clone(live);
    },
    async apply(table) {
      check('apply', table);
      live = clone(table);
    },
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    subscribeAccess(onAccess) {
      accessListeners.add(onAccess);
      return () => accessListeners.delete(onAccess);
    },
    access(workspace) {
      for (const l of accessListeners) l(workspace);
    },
    table() {
      if (!live) return null;
      const { idle: _idle, ...routes } = clone(live);
      return routes;
    },
    idle() {
      return structuredClone(live?.idle ?? { workspaces: [], ports: [] });
    },
    removeRoute(workspace, port, opts) {
      if (!live) return;
      if (port === undefined) live.workspaces = live.workspaces.filter((w) => w.name !== workspace);
      live.ports = live.ports.filter((p) => p.workspace !== workspace || (port !== undefined && p.port !== port));
      if (opts?.notify) for (const l of listeners) l();
    },
    reset(opts) {
      live = null;
      if (opts?.notify !== false) for (const l of listeners) l();
    },
    fail(op, times = 1, message = `memory proxy: injected failure of ${op}`, when) {
      failures.push({ op, times, message, ...(when ? { when } : {}) });
    },
    async close() {
      listeners.clear();
      accessListeners.clear();
    },
  };
}
