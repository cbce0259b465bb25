// The Port reconciler: a Port is Ready when its route is live in the proxy. Its route
// exists only while its Workspace is running and ready; the status says which is missing.
import { isDeepStrictEqual } from 'node:util';
import { siblingKey, workspacePath, type Port, type PortPhase, type Workspace } from '../../specs/index.js';
import type { Condition } from '../../specs/index.js';
import type { Result } from '../reconcile.js';
import { getCondition, isTrue, setCondition, type ConditionInput, type ConditionReason } from '../status.js';
import type { Context } from './context.js';
import { routedIp } from './routes.js';

export async function reconcilePort(ctx: Context, name: string): Promise<Result> {
  const port = ctx.store.get('Port', name);
  if (!port || port.metadata.deletionTimestamp) return {};
  const wsName = port.spec.workspace;
  const wsKey = siblingKey(name, wsName);
  const n = port.spec.port;
  const ws = ctx.store.get('Workspace', wsKey);
  const ready = readiness(ctx, port, ws, wsKey, n);
  if (!ready) return {};

  const status = structuredClone(port.status ?? {});
  const conditions: Condition[] = status.conditions ?? [];
  setCondition(conditions, ready, ctx.clock.now(), port.metadata.generation);
  const next = {
    ...status,
    phase: (ready.status === 'True' ? 'Ready' : 'Pending') satisfies PortPhase,
    observedGeneration: port.metadata.generation,
    url: `${workspacePath(wsKey)}/port/${n}/`,
    conditions,
  };
  if (!isDeepStrictEqual(next, port.status)) ctx.status.write('Port', name, next);
  return {};
}

/** The Ready condition; undefined means "leave it as it is" (the live routes are not known yet). */
function readiness(
  ctx: Context,
  port: Port,
  ws: Workspace | undefined,
  wsKey: string,
  n: number,
): ConditionInput | undefined {
  const wsName = port.spec.workspace;
  const c = (status: 'True' | 'False', reason: ConditionReason, message: string): ConditionInput => ({
    type: 'Ready',
    status,
    reason,
    message,
  });
  if (!ws)
    return c(
      'False',
      'WorkspaceNotFound',
      `Workspace "${wsName}" does not exist: create it, or point spec.workspace at one that does.`,
    );
  if (ws.metadata.deletionTimestamp)
    return c('False', 'WorkspaceNotFound', `Workspace "${wsName}" is being deleted; this Port goes with it.`);
  if (!ws.spec.running) {
    return c(
      'False',
      'WorkspaceStopped',
      `Workspace "${wsName}" is stopped (spec.running is false); the port is routed once it runs.`,
    );
  }
  const ip = routedIp(ws);
  if (!ip) {
    // Not the workspace's own message: that changes at every step and would rewrite every Port with it.
    return c(
      'False',
      'WorkspaceNotReady',
      `Workspace "${wsName}" is not ready yet; its status says why. The port is routed once it is.`,
    );
  }
  const upstream = `${ip}:${n}`;
  if (ctx.routes.portUpstream(wsKey, n) === upstream) {
    return c(
      'True',
      'Routed',
      `${workspacePath(wsKey)}/port/${n}/ is live in the proxy, to ${upstream}; it answers 502 until something listens on port ${n}.`,
    );
  }
  if (ctx.routes.lastError) {
    return c(
      'False',
      ctx.routes.lastErrorReason,
      `The proxy (${ctx.proxy.name}) could not take the route table: ${ctx.routes.lastError}. Retrying with backoff.`,
    );
  }
  if (!ctx.routes.known && getCondition(port.status, 'Ready')) return undefined;
  // The workspace's route and this one go live in the same apply: until the workspace is
  // Ready, saying so spares every Port one more status write.
  if (!isTrue(ws.status, 'Ready')) {
    return c(
      'False',
      'WorkspaceNotReady',
      `Workspace "${wsName}" is not ready yet; its status says why. The port is routed once it is.`,
    );
  }
  ctx.enqueueRoutes();
  return c(
    'False',
    'WaitingForRoute',
    `Waiting for the proxy to route ${workspacePath(wsKey)}/port/${n}/ to ${upstream}.`,
  );
}
