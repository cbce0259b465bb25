// The event sources: each only enqueues keys (never hands an event to a reconciler). The store's
// watch, the runtime's instance events, the proxy's "my table changed", and the access stream
// (which also feeds lastAccessTime and capacity's "least recently accessed").
import { ROUTES_KEY, portKey, templateKey, workspaceKey } from './keys.js';
import { LastAccessWriter } from './last-access.js';
import type { Context } from './reconcilers/context.js';
import { isKind, type Resource, type WatchEvent } from '../store/index.js';
import { keyOf, keyOfRoute, siblingKey } from '../specs/index.js';

export class EventSources {
  readonly #ctx: Context;
  readonly #lastAccess: LastAccessWriter;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(ctx: Context, accessWriteIntervalMs: number) {
    this.#ctx = ctx;
    this.#lastAccess = new LastAccessWriter(ctx.store, ctx.status, ctx.clock, accessWriteIntervalMs);
  }

  start(): void {
    const { store, runtime, proxy, queue, vms, capacity } = this.#ctx;
    this.#unsubscribe.push(store.watch({}, (ev) => this.#onStoreEvent(ev)));
    const offRuntime = runtime.subscribe?.((name) => {
      vms.markDirty(name);
      queue.add(workspaceKey(name));
    });
    const offProxy = proxy.subscribe?.(() => queue.add(ROUTES_KEY));
    // "Least recently accessed" in capacity refusals: what the access log says, also between writes.
    for (const ws of store.list('Workspace').items) {
      const at = Date.parse(String(ws.status?.lastAccessTime ?? ''));
      if (!Number.isNaN(at)) capacity.noteAccess(keyOf(ws), at);
    }
    // The proxy's access log names a workspace by its route name (specs/object-key.ts).
    const offAccess = proxy.subscribeAccess?.((route) => {
      const key = keyOfRoute(route);
      capacity.noteAccess(key, this.#ctx.clock.now());
      this.#lastAccess.accessed(key);
    });
    for (const off of [offRuntime, offProxy, offAccess]) if (off) this.#unsubscribe.push(off);
  }

  stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#lastAccess.stop();
  }

  /** A Workspace change wakes it, its Ports and the routes; a Port change wakes it, its workspace
   * (and the one it pointed at before, when it moved) and the routes. */
  #onStoreEvent(ev: WatchEvent): void {
    const { queue, store, capacity } = this.#ctx;
    const o = ev.object;
    if (isKind(o, 'Workspace')) {
      // Nothing a reconcile reads moved (as controller-runtime's predicates skip such updates).
      if (ev.type === 'MODIFIED' && ev.previous && onlyLastAccessMoved(ev.previous, o)) return;
      if (ev.type === 'DELETED') {
        capacity.forget(keyOf(o));
        // A Workspace made again with this name starts awake, with no past use.
        this.#ctx.sleepers.wake(keyOf(o));
        this.#ctx.activity.forget(keyOf(o));
      }
      queue.add(workspaceKey(keyOf(o)));
      for (const p of store.portsOf(keyOf(o))) queue.add(portKey(keyOf(p)));
      this.#ctx.enqueueRoutes();
    } else if (isKind(o, 'Port')) {
      const key = keyOf(o);
      queue.add(portKey(key));
      queue.add(workspaceKey(siblingKey(key, o.spec.workspace)));
      // A Port moved to another workspace: the one it named before is reconciled too.
      const before = ev.previous && isKind(ev.previous, 'Port') ? ev.previous.spec.workspace : undefined;
      if (before !== undefined && before !== o.spec.workspace) queue.add(workspaceKey(siblingKey(key, before)));
      this.#ctx.enqueueRoutes();
    } else if (isKind(o, 'ImageTemplate')) {
      // A new build (or none) changes what the workspaces naming it are made from, or wait for.
      queue.add(templateKey(o.metadata.name));
      for (const ws of store.list('Workspace').items)
        if (ws.spec.image === o.metadata.name) queue.add(workspaceKey(keyOf(ws)));
      for (const t of store.list('ImageTemplate').items)
        if (t.spec.base === o.metadata.name) queue.add(templateKey(t.metadata.name));
    }
  }
}

/**
 * A Workspace update that only moved status.lastAccessTime (the access stream's own write):
 * no reconcile reads it, and with many workspaces in use each such write was a workspace
 * reconcile and a routes reconcile for nothing. Objects that differ in the order of their keys
 * count as changed (a reconcile too many, never one too few).
 */
export function onlyLastAccessMoved(before: Resource, after: Resource): boolean {
  const accessed = (r: Resource) => (r as { status?: { lastAccessTime?: unknown } }).status?.lastAccessTime;
  // The controller's own status writes leave it as it was: no need to compare the rest.
  if (accessed(before) === accessed(after)) return false;
  const bare = (r: Resource) => {
    const { resourceVersion: _rv, ...metadata } = r.metadata;
    const { lastAccessTime: _at, ...status } = (r as { status?: Record<string, unknown> }).status ?? {};
    return JSON.stringify({ ...r, metadata, status });
  };
  return bare(before) === bare(after);
}
