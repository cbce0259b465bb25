// How a workspace stands, as status: observe() looks at the VM (and its IDE) without acting,
// write() turns that into phase, ip, url and the VMReady, RouteReady and Ready conditions, and
// writes status only when it changed. The lifecycle that acts is workspace.ts.
import { keyOf, workspacePath } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import type { Condition, WorkspacePhase, WorkspaceStatus } from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import type { Result } from '../reconcile.js';
import { getCondition, isTrue, setCondition, type ConditionInput, type ConditionReason } from '../status.js';
import { POLL_MS, SLOW_POLL_MS, ideProbeMs, keepForeignStatus, pollMs, type Context } from './context.js';
import { noteFor } from './workspace-home.js';

export type VMReady = ConditionInput & { type: 'VMReady' };
/** What the VM looks like now, as status: phase, VMReady, and when to look again. */
export interface Observed {
  phase: WorkspacePhase;
  vmReady: VMReady;
  ip?: string;
  /** The cluster member the VM is on, where the runtime is a cluster. */
  node?: string;
  requeueAfterMs?: number;
}

export const vmReady = (status: ConditionInput['status'], reason: ConditionReason, message: string): VMReady => ({
  type: 'VMReady',
  status,
  reason,
  message,
});

/** How the VM stands, without acting: the phase, VMReady, and when to look again. */
export async function observe(
  ctx: Context,
  ws: Workspace,
  vm: VM | undefined,
  prev: WorkspaceStatus,
): Promise<Observed> {
  if (!vm)
    return {
      phase: 'Pending',
      vmReady: vmReady('False', 'VMNotFound', 'The instance does not exist yet.'),
      requeueAfterMs: POLL_MS,
    };
  const o = fromState(ctx, vm, ws.spec.running as boolean) ?? (await fromIde(ctx, ws, vm, prev));
  return vm.node ? { ...o, node: vm.node } : o;
}

/** What the instance's state alone tells (an error, unknown, stopped or stopping); undefined when it runs. */
function fromState(ctx: Context, vm: VM, running: boolean): Observed | undefined {
  // Nothing is done to it meanwhile: the member holds its disk, and it converges once back.
  if (vm.nodeUnreachable) {
    return {
      phase: 'Pending',
      vmReady: vmReady(
        'False',
        'NodeUnreachable',
        `The cluster member ${vm.node} does not answer${vm.message ? ` (${vm.message})` : ''}; the workspace is left as it is until the member is back.`,
      ),
      requeueAfterMs: SLOW_POLL_MS,
    };
  }
  if (vm.state === 'Error') {
    return {
      phase: 'Failed',
      vmReady: vmReady(
        'False',
        'RuntimeError',
        `The ${ctx.runtime.name} runtime reports the instance in an error state${vm.message ? `: ${vm.message}` : ''}. Fix it there, or delete and recreate the workspace.`,
      ),
      requeueAfterMs: SLOW_POLL_MS,
    };
  }
  if (vm.state === 'Unknown') {
    return {
      phase: 'Pending',
      vmReady: vmReady('Unknown', 'Unknown', `The ${ctx.runtime.name} runtime cannot tell the instance's state.`),
      requeueAfterMs: SLOW_POLL_MS,
    };
  }
  if (!running) {
    if (vm.state === 'Stopped')
      return {
        phase: 'Stopped',
        vmReady: vmReady(
          'False',
          'Stopped',
          'The instance is stopped (spec.running is false); set spec.running to true to start it.',
        ),
      };
    return {
      phase: 'Stopping',
      vmReady: vmReady('False', 'Stopping', 'The instance is stopping.'),
      requeueAfterMs: POLL_MS,
    };
  }
  if (vm.state === 'Stopping') {
    return {
      phase: 'Stopping',
      vmReady: vmReady(
        'False',
        'Stopping',
        'The instance is stopping outside Tidepool; it is started again once stopped.',
      ),
      requeueAfterMs: POLL_MS,
    };
  }
  if (vm.state === 'Stopped')
    return {
      phase: 'Pending',
      vmReady: vmReady('False', 'Stopped', 'The instance is stopped.'),
      requeueAfterMs: POLL_MS,
    };
  return undefined;
}

/** A running VM: waiting for its IP, then for its IDE to answer (probed unless known to answer). */
async function fromIde(ctx: Context, ws: Workspace, vm: VM, prev: WorkspaceStatus): Promise<Observed> {
  const name = keyOf(ws);
  const now = ctx.clock.now();
  if (!ctx.ideWaitSince.has(name)) ctx.ideWaitSince.set(name, now);
  // Soon at first (a fast runtime has the IP and the IDE at once), then every POLL_MS.
  const soon = pollMs(ctx, ctx.ideWaitSince.get(name));
  if (vm.state === 'Starting' || !vm.ip) {
    return {
      phase: 'Starting',
      vmReady: vmReady('False', 'Starting', 'The instance is starting; waiting for its IP address.'),
      requeueAfterMs: soon,
    };
  }
  const answers: Observed = {
    phase: 'Running',
    ip: vm.ip,
    vmReady: vmReady('True', 'Running', `The IDE answers on ${vm.ip}:${ctx.idePort}.`),
  };
  const note = noteFor(ctx, ws);
  // It answered on this IP before, and the IDE health rounds (ctx.ide) have not seen it stop
  // since: a resync costs no probe. Those rounds enqueue this key when it stops answering.
  const answeredBefore =
    prev.ip === vm.ip && (isTrue(prev, 'VMReady') || getCondition(prev, 'VMReady')?.reason === 'IDENotAnswering');
  if (answeredBefore && isTrue(prev, 'VMReady') && !ctx.ide.isDown(name)) {
    ctx.ideWaitSince.delete(name);
    return answers;
  }
  if (await ctx.probe(vm.ip, ctx.idePort)) {
    ctx.ideWaitSince.delete(name);
    ctx.ide.markUp(name);
    const again = answeredBefore && !isTrue(prev, 'VMReady');
    note('Normal', 'IDEReady', `The IDE answers${again ? ' again' : ''} on ${vm.ip}:${ctx.idePort}.`);
    return answers;
  }
  if (answeredBefore) {
    // It answered, and stopped: the VM runs, the IDE in it does not (crashed, hung, stopped).
    const message = `The IDE stopped answering on ${vm.ip}:${ctx.idePort} (the instance is running): it is not reachable until it answers again; check code-server in the instance (\`${ctx.runtime.name === 'incus' ? `incus exec ${ctx.runtime.instanceName?.(name) ?? name} -- systemctl status code-server` : 'its logs'}\`).`;
    if (isTrue(prev, 'VMReady')) note('Warning', 'IDENotAnswering', message);
    return {
      phase: 'Running',
      ip: vm.ip,
      vmReady: vmReady('False', 'IDENotAnswering', message),
      requeueAfterMs: SLOW_POLL_MS,
    };
  }
  const late = now - ctx.ideWaitSince.get(name)! >= ctx.ideTimeoutMs;
  const message = late
    ? `The IDE has not answered on ${vm.ip}:${ctx.idePort} for over ${Math.round(ctx.ideTimeoutMs / 1000)} s since the instance started: check that image "${ws.spec.image}" runs code-server on port ${ctx.idePort}. Still checking every ${SLOW_POLL_MS / 1000} s.`
    : `The instance is running at ${vm.ip}; waiting for the IDE to answer on port ${ctx.idePort}.`;
  return {
    phase: 'Starting',
    ip: vm.ip,
    vmReady: vmReady('False', 'WaitingForIDE', message),
    requeueAfterMs: late ? SLOW_POLL_MS : ideProbeMs(ctx, soon),
  };
}

/** Writes phase, ip, url, VMReady, RouteReady and Ready when any changed. */
export function write(ctx: Context, ws: Workspace, status: WorkspaceStatus, o: Observed): Result {
  const name = keyOf(ws);
  const now = ctx.clock.now();
  const gen = ws.metadata.generation;
  const conditions: Condition[] = status.conditions ?? [];
  setCondition(conditions, o.vmReady, now, gen);
  // The IDE health rounds watch what answered (and what stopped answering, to see it come back).
  if (o.ip && (o.vmReady.status === 'True' || o.vmReady.reason === 'IDENotAnswering')) ctx.ide.watch(name, o.ip);
  else ctx.ide.unwatch(name);
  const route = routeReady(ctx, ws, o, status);
  if (route) setCondition(conditions, route, now, gen);
  const rr = getCondition({ conditions }, 'RouteReady');
  const blocker = o.vmReady.status !== 'True' ? o.vmReady : rr && rr.status !== 'True' ? rr : undefined;
  setCondition(
    conditions,
    blocker
      ? // The blocker is a condition this controller wrote (now or in an earlier round), so its reason is one of ours.
        {
          type: 'Ready',
          status: blocker.status === 'Unknown' ? 'Unknown' : 'False',
          reason: blocker.reason as ConditionReason,
          message: blocker.message,
        }
      : { type: 'Ready', status: 'True', reason: 'Running', message: `The IDE is at ${workspacePath(name)}/.` },
    now,
    gen,
  );
  status.phase = o.phase;
  status.observedGeneration = gen;
  status.url = `${workspacePath(name)}/`;
  if (o.ip) status.ip = o.ip;
  else delete status.ip;
  if (o.node) status.node = o.node;
  status.conditions = conditions;
  ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, status));
  return o.requeueAfterMs !== undefined ? { requeueAfterMs: o.requeueAfterMs } : {};
}

/** RouteReady from the live route table; undefined leaves it as it is (the live table is not known yet). */
function routeReady(ctx: Context, ws: Workspace, o: Observed, status: WorkspaceStatus): ConditionInput | undefined {
  const name = keyOf(ws);
  const c = (s: 'True' | 'False', reason: ConditionReason, message: string): ConditionInput => ({
    type: 'RouteReady',
    status: s,
    reason,
    message,
  });
  if (o.vmReady.status !== 'True' || !o.ip) {
    return ws.spec.running
      ? c('False', 'VMNotReady', `${workspacePath(name)}/ is routed once the IDE answers.`)
      : c('False', 'Stopped', `No route while the workspace is stopped.`);
  }
  const upstream = `${o.ip}:${ctx.idePort}`;
  if (ctx.routes.workspaceUpstream(name) === upstream)
    return c('True', 'Routed', `${workspacePath(name)}/ is live in the proxy, to ${upstream}.`);
  if (ctx.routes.lastError) {
    return c(
      'False',
      ctx.routes.lastErrorReason,
      `The proxy (${ctx.proxy.name}) could not take the route table: ${ctx.routes.lastError}. Retrying with backoff.`,
    );
  }
  if (!ctx.routes.known && getCondition(status, 'RouteReady')) return undefined;
  ctx.enqueueRoutes();
  return c('False', 'WaitingForRoute', `Waiting for the proxy to route ${workspacePath(name)}/ to ${upstream}.`);
}
