// Deletion: a Workspace being deleted loses its routes first (so no request reaches an
// address that may be reused), then its VM and disk, then the finalizer, and the store
// removes it and its Ports. This is the only place a home goes with its Workspace; a VM or
// home that no Workspace declares is an orphan, kept (controller/orphans.ts).
import { keyOf } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import type { Condition, WorkspaceStatus } from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import type { Result } from '../reconcile.js';
import { setCondition } from '../status.js';
import { FINALIZER, keepForeignStatus, type Context } from './context.js';
import { errorMessage } from '../../specs/errors.js';
import { noteFor } from './workspace-home.js';
import { saveSettings } from './workspace-settings.js';

/** How often a deletion waiting for its routes to go looks again (the routes reconciler also wakes it). */
const ROUTE_WAIT_MS = 1000;

export async function finalize(ctx: Context, ws: Workspace): Promise<Result> {
  const name = keyOf(ws);
  ctx.capacity.waiting.delete(name);
  ctx.ideWaitSince.delete(name);
  ctx.ide.unwatch(name);
  if (!ws.metadata.finalizers?.includes(FINALIZER)) return {};
  const routed = ctx.routes.mayRoute(name);
  const message = !routed
    ? 'Deleting the instance and its disk.'
    : ctx.routes.lastError
      ? `Deleting: waiting for the proxy (${ctx.proxy.name}) to drop the routes, and it fails: ${ctx.routes.lastError}. Retrying with backoff.`
      : 'Deleting: removing the routes first, then the instance and its disk.';
  const status: WorkspaceStatus = structuredClone(ws.status ?? {});
  const conditions: Condition[] = status.conditions ?? [];
  const now = ctx.clock.now();
  setCondition(
    conditions,
    { type: 'Ready', status: 'False', reason: 'Deleting', message },
    now,
    ws.metadata.generation,
  );
  if (routed && ctx.routes.lastError) {
    setCondition(
      conditions,
      { type: 'RouteReady', status: 'False', reason: ctx.routes.lastErrorReason, message: ctx.routes.lastError },
      now,
      ws.metadata.generation,
    );
  }
  ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, { ...status, phase: 'Deleting', conditions }));
  if (routed) {
    ctx.enqueueRoutes();
    return { requeueAfterMs: ROUTE_WAIT_MS };
  }

  // The editor settings changed here follow the user to the next workspace.
  await saveSettings(ctx, ws, ctx.vms.peek().get(name), noteFor(ctx, ws));
  try {
    // Called even when the last list did not show it: a VM made by a controller that
    // crashed before writing status must not outlive its Workspace. The home goes after the
    // VM (a volume in use cannot be deleted), and only here: with the Workspace.
    await ctx.runtime.delete(name);
    ctx.vms.patch(name, null);
    await ctx.runtime.homes?.delete(name);
  } catch (err) {
    noteFor(ctx, ws)('Warning', 'DeleteFailed', errorMessage(err));
    setCondition(
      conditions,
      {
        type: 'Ready',
        status: 'False',
        reason: 'RuntimeError',
        message: `Deleting: the ${ctx.runtime.name} runtime failed to delete the instance or its home: ${errorMessage(err)}. Retrying with backoff.`,
      },
      ctx.clock.now(),
      ws.metadata.generation,
    );
    ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, { ...status, phase: 'Deleting', conditions }));
    throw err;
  }
  await ctx.store.transaction((tx) => {
    const cur = tx.get('Workspace', name);
    if (!cur || cur.metadata.uid !== ws.metadata.uid || !cur.metadata.finalizers?.includes(FINALIZER)) return;
    const next = structuredClone(cur);
    next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== FINALIZER);
    tx.update(next);
  });
  ctx.events.record(
    { kind: 'Workspace', name, uid: ws.metadata.uid! },
    'Normal',
    'Deleted',
    `Deleted the instance and its disk${ctx.runtime.homes ? ' and home' : ''}; the workspace is gone.`,
  );
  return {};
}

/**
 * A name no Workspace declares: whatever this Tidepool made for it is an orphan, stopped and
 * kept, never deleted here (controller/orphans.ts): a missing Workspace is no proof that its
 * home is unwanted.
 */
export async function orphan(ctx: Context, name: string, vm: VM | undefined): Promise<Result> {
  ctx.capacity.waiting.delete(name);
  ctx.capacity.release(name);
  ctx.ideWaitSince.delete(name);
  ctx.ide.unwatch(name);
  return ctx.orphans.reconcile(ctx, name, vm);
}
