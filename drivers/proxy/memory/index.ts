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

type Failure = { op: MemoryProxyOp; times: number; message: string; when?: (table: RouteTable) => boolean };

export function createMemoryProxy(): MemoryProxy {
  return new MemoryProxyDriver();
}

class MemoryProxyDriver implements MemoryProxy {
  readonly name = 'memory';
  readonly calls: Record<MemoryProxyOp, number> = { read: 0, apply: 0 };
  #live: RouteTable | null = null;
  readonly #failures: Failure[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #accessListeners = new Set<(workspace: string) => void>();

  /** Counts a call of `op`, and throws when an injected failure is due. */
  #check(op: MemoryProxyOp, table?: RouteTable): void {
    this.calls[op]++;
    const i = this.#failures.findIndex((f) => f.op === op && (!f.when || (table !== undefined && f.when(table))));
    if (i < 0) return;
    const f = this.#failures[i]!;
    if (--f.times <= 0) this.#failures.splice(i, 1);
    throw new ProxyError(f.message);
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }

  async start(): Promise<void> {}

  async read(): Promise<RouteTable | null> {
    this.#check('read');
    return this.#live && clone(this.#live);
  }

  async apply(table: RouteTable): Promise<void> {
    this.#check('apply', table);
    this.#live = clone(table);
  }

  subscribe(onChange: () => void): () => void {
    this.#listeners.add(onChange);
    return () => this.#listeners.delete(onChange);
  }

  subscribeAccess(onAccess: (workspace: string) => void): () => void {
    this.#accessListeners.add(onAccess);
    return () => this.#accessListeners.delete(onAccess);
  }

  access(workspace: string): void {
    for (const l of this.#accessListeners) l(workspace);
  }

  table(): RouteTable | null {
    if (!this.#live) return null;
    const { idle: _idle, ...routes } = clone(this.#live);
    return routes;
  }

  idle(): { workspaces: string[]; ports: string[] } {
    return structuredClone(this.#live?.idle ?? { workspaces: [], ports: [] });
  }

  removeRoute(workspace: string, port?: number, opts?: { notify?: boolean }): void {
    const live = this.#live;
    if (!live) return;
    if (port === undefined) live.workspaces = live.workspaces.filter((w) => w.name !== workspace);
    live.ports = live.ports.filter((p) => p.workspace !== workspace || (port !== undefined && p.port !== port));
    if (opts?.notify) this.#notify();
  }

  reset(opts?: { notify?: boolean }): void {
    this.#live = null;
    if (opts?.notify !== false) this.#notify();
  }

  fail(
    op: MemoryProxyOp,
    times = 1,
    message = `memory proxy: injected failure of ${op}`,
    when?: (table: RouteTable) => boolean,
  ): void {
    this.#failures.push({ op, times, message, ...(when ? { when } : {}) });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#accessListeners.clear();
  }
}
