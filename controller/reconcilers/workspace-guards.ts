// What the workspace reconciler settles before it converges: the runtime answering at all (else
// Ready says so and the last known state stays), and the finalizer that keeps a Workspace until
// its instance and home are gone.
import { keyOf } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import type { Condition, WorkspaceStatus } from '../../specs/index.js';
import { setCondition } from '../status.js';
import { FINALIZER, keepForeignStatus, type Context } from './context.js';

/**
 * The runtime cannot be listed: Ready says so, everything else keeps its last known
 * value (VMReady stays, so the routes of running workspaces stay up meanwhile).
 */
export function unreachable(ctx: Context, name: string, err: Error): void {
  const ws = ctx.store.get('Workspace', name);
  if (!ws || ws.metadata.deletionTimestamp) return;
  const status: WorkspaceStatus = structuredClone(ws.status ?? {});
  const conditions: Condition[] = status.conditions ?? [];
  setCondition(
    conditions,
    {
      type: 'Ready',
      status: 'Unknown',
      reason: 'RuntimeError',
      message: `The ${ctx.runtime.name} runtime cannot be reached to list the instances: ${err.message}. The last known state is shown; retrying with backoff.`,
    },
    ctx.clock.now(),
    ws.metadata.generation,
  );
  ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, { ...status, conditions }));
}

/**
 * Adds the finalizer without waiting for the disk, like status writes. That is safe: if
 * a crash loses it, the VM made meanwhile is either adopted again (the Workspace is
 * still there) or kept as an orphan (it is not) until a person deletes it.
 */
export function ensureFinalizer(ctx: Context, ws: Workspace): Workspace | undefined {
  const name = keyOf(ws);
  if (ws.metadata.finalizers?.includes(FINALIZER)) return ws;
  ctx.status.track(
    ctx.store.transaction((tx) => {
      const cur = tx.get('Workspace', name);
      if (!cur || cur.metadata.deletionTimestamp || cur.metadata.finalizers?.includes(FINALIZER)) return;
      const next = structuredClone(cur);
      next.metadata.finalizers = [...(next.metadata.finalizers ?? []), FINALIZER];
      tx.update(next);
    }),
    'Workspace',
    name,
  );
  return ctx.store.get('Workspace', name);
}
