// The Workspace reconciler: makes the VM match the Workspace (exists, running or not,
// IDE answering) and says how it stands in status. It reads the whole object and the
// whole VM each time, acts at most once, and writes status only when it changed.
// Over 300 lines: the lifecycle's steps that share its Observed/Note plumbing; the steps with
// state of their own are apart (workspace-home.ts, workspace-spec.ts, workspace-delete.ts).
import type { Workspace } from '../../specs/index.js';
import { parseQuantity, type Condition, type WorkspacePhase, type WorkspaceStatus } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import { neverFits, showBytes, type RunningWorkspace, type Usage } from '../capacity/index.js';
import { RuntimeError, type VM } from '../drivers/runtime/types.js';
import { TerminalError, type Result } from '../reconcile.js';
import { getCondition, isTrue, setCondition, type ConditionInput, type ConditionReason } from '../status.js';
import { HOLDS_CAPACITY } from '../vm-cache.js';
import { FINALIZER, MIN_POLL_MS, POLL_MS, SLOW_POLL_MS, keepForeignStatus, pollMs, type Context } from './context.js';
import { deleteOrphan, finalize } from './workspace-delete.js';
import { cloneSource, clonePending, ensureHome, planClone, type Note } from './workspace-home.js';
import { applyResources, shouldRecreate } from './workspace-spec.js';

export { FINALIZER } from './context.js';

type VMReady = ConditionInput & { type: 'VMReady' };
/** What the VM looks like now, as status: phase, VMReady, and when to look again. */
interface Observed {
  phase: WorkspacePhase;
  vmReady: VMReady;
  ip?: string;
  requeueAfterMs?: number;
}

export async function reconcileWorkspace(ctx: Context, name: string): Promise<Result> {
  let vm: VM | undefined;
  try {
    vm = (await ctx.vms.get({ name })).get(name);
    // A VM on its way somewhere (or without an IP yet) needs news newer than the last poll.
    if (vm && (vm.state === 'Starting' || vm.state === 'Stopping' || (vm.state === 'Running' && !vm.ip))) {
      vm = (await ctx.vms.get({ name, maxAgeMs: MIN_POLL_MS })).get(name);
    }
  } catch (err) {
    unreachable(ctx, name, err as Error);
    throw err;
  }
  const ws = ctx.store.get('Workspace', name);
  if (!ws) return deleteOrphan(ctx, name, vm);
  if (ws.metadata.deletionTimestamp) return finalize(ctx, ws);
  const current = ensureFinalizer(ctx, ws);
  if (!current) return {};
  if (current.metadata.deletionTimestamp) return finalize(ctx, current);
  return converge(ctx, current, vm);
}

/**
 * The runtime cannot be listed: Ready says so, everything else keeps its last known
 * value (VMReady stays, so the routes of running workspaces stay up meanwhile).
 */
function unreachable(ctx: Context, name: string, err: Error): void {
  const ws = ctx.store.get('Workspace', name);
  if (!ws || ws.metadata.deletionTimestamp) return;
  const status: WorkspaceStatus = structuredClone(ws.status ?? {});
  const conditions: Condition[] = status.conditions ?? [];
  setCondition(conditions, {
    type: 'Ready', status: 'Unknown', reason: 'RuntimeError',
    message: `The ${ctx.runtime.name} runtime cannot be reached to list the VMs: ${err.message}. The last known state is shown; retrying with backoff.`,
  }, ctx.clock.now(), ws.metadata.generation);
  ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, { ...status, conditions }));
}

/**
 * Adds the finalizer without waiting for the disk, like status writes. That is safe: if
 * a crash loses it, the VM made meanwhile is either adopted again (the Workspace is
 * still there) or deleted by the orphan collection (it is not).
 */
function ensureFinalizer(ctx: Context, ws: Workspace): Workspace | undefined {
  const name = ws.metadata.name;
  if (ws.metadata.finalizers?.includes(FINALIZER)) return ws;
  ctx.status.track(ctx.store.transaction((tx) => {
    const cur = tx.get('Workspace', name);
    if (!cur || cur.metadata.deletionTimestamp || cur.metadata.finalizers?.includes(FINALIZER)) return;
    const next = structuredClone(cur);
    next.metadata.finalizers = [...(next.metadata.finalizers ?? []), FINALIZER];
    tx.update(next);
  }), 'Workspace', name);
  return ctx.store.get('Workspace', name);
}

const vmReady = (status: ConditionInput['status'], reason: ConditionReason, message: string): VMReady => ({ type: 'VMReady', status, reason, message });

// Over 80 lines on purpose: one decision per branch (recreate, create, start, stop, resources,
// home, clone), in the order they apply, each a call into its own function; read top to bottom
// it is the lifecycle.
async function converge(ctx: Context, ws: Workspace, vm: VM | undefined): Promise<Result> {
  const name = ws.metadata.name;
  const spec = ws.spec;
  const memoryBytes = parseQuantity(spec.resources.memory);
  if (memoryBytes === undefined) throw new TerminalError(`workspace ${name}: spec.resources.memory "${spec.resources.memory}" is not a quantity`);
  const want: Usage = { name, cpu: spec.resources.cpu, memoryBytes };
  const prev: WorkspaceStatus = ws.status ?? {};
  const status: WorkspaceStatus = structuredClone(prev);
  const note: Note = (type, reason, text) =>
    ctx.events.record({ kind: 'Workspace', name, uid: ws.metadata.uid! }, type, reason, text);
  status.instance = ctx.runtime.instanceName?.(name) ?? name;

  if (!spec.running) ctx.capacity.waiting.delete(name);

  // A new image: the VM is made again (below) from it, with the same home.
  let recreating = false;
  if (vm && vm.state !== 'Error' && (await shouldRecreate(ctx, ws, status, vm, note))) {
    write(ctx, ws, status, { phase: 'Creating', vmReady: vmReady('False', 'Recreating', `Making the VM again from image "${spec.image}"; the home is kept.`) });
    try {
      await ctx.runtime.delete(name);
    } catch (err) {
      return fail(ctx, ws, status, 'delete (to recreate)', err as Error, note);
    }
    ctx.vms.patch(name, null);
    ctx.ide.unwatch(name);
    vm = undefined;
    recreating = true;
  }

  // Act: at most one runtime action, then look at the VM as that action left it.
  if (!vm || (spec.running && vm.state === 'Stopped')) {
    if (!vm) {
      const blocked = await ensureHome(ctx, ws, status, note).catch((err: Error) => fail(ctx, ws, status, 'make the home of', err, note));
      if (blocked) {
        return write(ctx, ws, status, { phase: 'Pending', vmReady: vmReady('False', blocked.reason, blocked.message), requeueAfterMs: SLOW_POLL_MS });
      }
    }
    if (spec.running) {
      const never = neverFits(ctx.capacity.budget, want);
      if (never.length) {
        // Terminal until the spec or the budget changes: there is nothing to wait for.
        const message = `It can never start under this budget: ${never.join('; ')}. Lower spec.resources, or raise the budget.`;
        note('Warning', 'ExceedsBudget', message);
        return write(ctx, ws, status, { phase: 'Pending', vmReady: vmReady('False', 'ExceedsBudget', message) });
      }
      const admission = ctx.capacity.admit(want, runningWorkspaces(ctx, name));
      if (!admission.ok) {
        const message = refusal(want, admission.reasons, admission.leastRecentlyAccessed);
        note('Warning', 'InsufficientCapacity', message);
        return write(ctx, ws, status, { phase: 'Pending', vmReady: vmReady('False', 'InsufficientCapacity', message) });
      }
    }
    try {
      if (!vm) vm = await create(ctx, ws, status, want, spec, note, recreating);
      else vm = await start(ctx, ws, vm, note);
      if (spec.running) {
        status.lastStartedTime = timestamp(ctx.clock.now());
        ctx.ideWaitSince.set(name, ctx.clock.now());
      }
    } catch (err) {
      if (err instanceof RuntimeError && (err.reason === 'AlreadyExists' || err.code === 409)) {
        // Someone made it since the last list (another controller, a person): look again.
        ctx.vms.markDirty(name);
        return { requeueAfterMs: 0 };
      }
      return fail(ctx, ws, status, !vm ? 'create' : 'start', err as Error, note);
    } finally {
      ctx.capacity.release(name);
    }
  } else if (!spec.running && (vm.state === 'Running' || vm.state === 'Starting')) {
    const drift = prev.phase === 'Stopped';
    write(ctx, ws, status, { phase: 'Stopping', vmReady: vmReady('False', 'Stopping', 'Stopping the VM (spec.running is false).') });
    try {
      await ctx.runtime.stop(name);
    } catch (err) {
      return fail(ctx, ws, status, 'stop', err as Error, note);
    }
    vm = { ...withoutIp(vm), state: 'Stopped' };
    ctx.vms.patch(name, vm);
    ctx.ideWaitSince.delete(name);
    note('Normal', 'Stopped', drift ? 'The VM was started outside Tidepool; stopped it again (spec.running is false).' : 'Stopped the VM; its disk is kept.');
  } else if (vm.state === 'Running' || vm.state === 'Stopped') {
    vm = await applyResources(ctx, ws, status, vm, want, () => runningWorkspaces(ctx, name), note);
  }

  // spec.source.git, planned at creation: cloned once the VM runs, before it is Ready.
  if (spec.running && vm?.state === 'Running' && vm.ip && clonePending(status)) {
    const cloning = vmReady('False', 'Cloning', 'Cloning spec.source.git into ~/project; Ready once it is done.');
    await cloneSource(ctx, ws, status, vm, note, () => write(ctx, ws, status, { phase: 'Starting', ip: vm!.ip!, vmReady: cloning }));
  }

  return write(ctx, ws, status, await observe(ctx, ws, vm, prev));
}

async function create(
  ctx: Context, ws: Workspace, status: WorkspaceStatus, want: Usage,
  spec: { image: string; running: boolean }, note: Note, recreating: boolean,
): Promise<VM> {
  const name = ws.metadata.name;
  const home = !!ctx.runtime.homes;
  const kept = home ? 'its home is kept' : 'its disk is lost';
  // It had a VM before (a phase past Creating): it was deleted behind Tidepool's back.
  const lost = !recreating && status.phase !== undefined && !['Pending', 'Creating', 'Failed'].includes(status.phase);
  const vmr = lost
    ? vmReady('False', 'VMNotFound', `The VM was not found in the ${ctx.runtime.name} runtime; creating it again (${kept}).`)
    : vmReady('False', recreating ? 'Recreating' : 'Creating', `Creating the VM from image "${spec.image}" (${want.cpu} vCPU, ${showBytes(want.memoryBytes)}).`);
  // Only a workspace being made clones its source (read only at creation), and the plan is in status before the VM exists.
  if (!lost && !recreating) planClone(ctx, ws, status);
  write(ctx, ws, status, { phase: 'Creating', vmReady: vmr });
  const made = await ctx.runtime.create({ name, image: spec.image, cpu: want.cpu, memoryBytes: want.memoryBytes, start: spec.running, home });
  // A driver that reports the VM as made (with its IP, when it has one) saves a list and a poll.
  const vm: VM = made ?? { name, state: spec.running ? 'Running' : 'Stopped', image: spec.image, cpu: want.cpu, memoryBytes: want.memoryBytes };
  ctx.vms.patch(name, vm);
  if (lost) note('Warning', 'VMNotFound', `The VM was missing (deleted outside Tidepool); created it again (${kept}).`);
  if (recreating) {
    setCondition(status.conditions ??= [], { type: 'ImageApplied', status: 'True', reason: 'Applied', message: `The VM runs image template "${spec.image}".` }, ctx.clock.now(), ws.metadata.generation);
  }
  note('Normal', recreating ? 'Recreated' : 'Created',
    `${recreating ? 'Made the VM again' : 'Created the VM'} from image "${spec.image}" (${want.cpu} vCPU, ${showBytes(want.memoryBytes)})${home ? ' with its home attached' : ''}${spec.running ? ' and started it' : ''}.`);
  return vm;
}

async function start(ctx: Context, ws: Workspace, vm: VM, note: Note): Promise<VM> {
  const name = ws.metadata.name;
  const drift = ws.status?.phase === 'Running' || ws.status?.phase === 'Starting';
  await ctx.runtime.start(name);
  const started: VM = { ...withoutIp(vm), state: 'Running' };
  ctx.vms.patch(name, started);
  note('Normal', 'Started', drift ? 'The VM was stopped outside Tidepool; started it again (spec.running is true).' : 'Started the VM.');
  return started;
}

/** A runtime action failed: say so in status, then throw so the key comes back with backoff. */
async function fail(ctx: Context, ws: Workspace, status: WorkspaceStatus, op: string, err: Error, note: Note): Promise<never> {
  // A failed action may still have done something: the retry lists again before acting.
  ctx.vms.markDirty(ws.metadata.name);
  // An image the runtime cannot make VMs from is the user's to fix: say which field.
  const badImage = err instanceof RuntimeError && (err.reason === 'UnknownImage' || err.reason === 'ImageNotFound');
  const words = badImage ? `spec.image "${ws.spec.image}": ${err.message}` : err.message;
  const message = `The ${ctx.runtime.name} runtime failed to ${op} the VM: ${words}. Retrying with backoff.`;
  const word = op.split(' ')[0]!;
  note('Warning', `${word[0]!.toUpperCase()}${word.slice(1)}Failed`, words);
  write(ctx, ws, status, { phase: 'Failed', vmReady: vmReady('False', badImage ? err.reason : 'RuntimeError', message) });
  throw err;
}

/** How the VM stands, without acting: the phase, VMReady, and when to look again. */
async function observe(ctx: Context, ws: Workspace, vm: VM | undefined, prev: WorkspaceStatus): Promise<Observed> {
  const name = ws.metadata.name;
  const running = ws.spec.running as boolean;
  if (!vm) return { phase: 'Pending', vmReady: vmReady('False', 'VMNotFound', 'The VM does not exist yet.'), requeueAfterMs: POLL_MS };
  if (vm.state === 'Error') {
    return {
      phase: 'Failed',
      vmReady: vmReady('False', 'RuntimeError', `The ${ctx.runtime.name} runtime reports the VM in an error state${vm.message ? `: ${vm.message}` : ''}. Fix it there, or delete and recreate the workspace.`),
      requeueAfterMs: SLOW_POLL_MS,
    };
  }
  if (vm.state === 'Unknown') {
    return { phase: 'Pending', vmReady: vmReady('Unknown', 'Unknown', `The ${ctx.runtime.name} runtime cannot tell the VM's state.`), requeueAfterMs: SLOW_POLL_MS };
  }
  if (!running) {
    if (vm.state === 'Stopped') return { phase: 'Stopped', vmReady: vmReady('False', 'Stopped', 'The VM is stopped (spec.running is false); set spec.running to true to start it.') };
    return { phase: 'Stopping', vmReady: vmReady('False', 'Stopping', 'The VM is stopping.'), requeueAfterMs: POLL_MS };
  }
  if (vm.state === 'Stopping') {
    return { phase: 'Stopping', vmReady: vmReady('False', 'Stopping', 'The VM is stopping outside Tidepool; it is started again once stopped.'), requeueAfterMs: POLL_MS };
  }
  if (vm.state === 'Stopped') return { phase: 'Pending', vmReady: vmReady('False', 'Stopped', 'The VM is stopped.'), requeueAfterMs: POLL_MS };
  const now = ctx.clock.now();
  if (!ctx.ideWaitSince.has(name)) ctx.ideWaitSince.set(name, now);
  // Soon at first (a fast runtime has the IP and the IDE at once), then every POLL_MS.
  const soon = pollMs(ctx, ctx.ideWaitSince.get(name));
  if (vm.state === 'Starting' || !vm.ip) {
    return { phase: 'Starting', vmReady: vmReady('False', 'Starting', 'The VM is starting; waiting for its IP address.'), requeueAfterMs: soon };
  }
  const answers: Observed = { phase: 'Running', ip: vm.ip, vmReady: vmReady('True', 'Running', `The IDE answers on ${vm.ip}:${ctx.idePort}.`) };
  const note = (type: 'Normal' | 'Warning', reason: string, text: string) =>
    ctx.events.record({ kind: 'Workspace', name, uid: ws.metadata.uid! }, type, reason, text);
  // It answered on this IP before, and the IDE health rounds (ctx.ide) have not seen it stop
  // since: a resync costs no probe. Those rounds enqueue this key when it stops answering.
  const answeredBefore = prev.ip === vm.ip && (isTrue(prev, 'VMReady') || getCondition(prev, 'VMReady')?.reason === 'IDENotAnswering');
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
    const message = `The IDE stopped answering on ${vm.ip}:${ctx.idePort} (the VM is running): it is not reachable until it answers again; check code-server in the VM (\`${ctx.runtime.name === 'incus' ? `incus exec ${ctx.runtime.instanceName?.(name) ?? name} -- systemctl status code-server` : 'its logs'}\`).`;
    if (isTrue(prev, 'VMReady')) note('Warning', 'IDENotAnswering', message);
    return { phase: 'Running', ip: vm.ip, vmReady: vmReady('False', 'IDENotAnswering', message), requeueAfterMs: SLOW_POLL_MS };
  }
  const late = now - ctx.ideWaitSince.get(name)! >= ctx.ideTimeoutMs;
  const message = late
    ? `The IDE has not answered on ${vm.ip}:${ctx.idePort} for over ${Math.round(ctx.ideTimeoutMs / 1000)} s since the VM started: check that image "${ws.spec.image}" runs code-server on port ${ctx.idePort}. Still checking every ${SLOW_POLL_MS / 1000} s.`
    : `The VM is running at ${vm.ip}; waiting for the IDE to answer on port ${ctx.idePort}.`;
  return { phase: 'Starting', ip: vm.ip, vmReady: vmReady('False', 'WaitingForIDE', message), requeueAfterMs: late ? SLOW_POLL_MS : soon };
}

/** Writes phase, ip, url, VMReady, RouteReady and Ready when any changed. */
function write(ctx: Context, ws: Workspace, status: WorkspaceStatus, o: Observed): Result {
  const name = ws.metadata.name;
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
  setCondition(conditions, blocker
    // The blocker is a condition this controller wrote (now or in an earlier round), so its reason is one of ours.
    ? { type: 'Ready', status: blocker.status === 'Unknown' ? 'Unknown' : 'False', reason: blocker.reason as ConditionReason, message: blocker.message }
    : { type: 'Ready', status: 'True', reason: 'Running', message: `The IDE is at /workspace/${name}/.` }, now, gen);
  status.phase = o.phase;
  status.observedGeneration = gen;
  status.url = `/workspace/${name}/`;
  if (o.ip) status.ip = o.ip;
  else delete status.ip;
  status.conditions = conditions;
  ctx.status.write('Workspace', name, keepForeignStatus(ctx, name, status));
  return o.requeueAfterMs !== undefined ? { requeueAfterMs: o.requeueAfterMs } : {};
}

/** RouteReady from the live route table; undefined leaves it as it is (the live table is not known yet). */
function routeReady(ctx: Context, ws: Workspace, o: Observed, status: WorkspaceStatus): ConditionInput | undefined {
  const name = ws.metadata.name;
  const c = (s: 'True' | 'False', reason: ConditionReason, message: string): ConditionInput => ({ type: 'RouteReady', status: s, reason, message });
  if (o.vmReady.status !== 'True' || !o.ip) {
    return ws.spec.running
      ? c('False', 'VMNotReady', `/workspace/${name}/ is routed once the IDE answers.`)
      : c('False', 'Stopped', `No route while the workspace is stopped.`);
  }
  const upstream = `${o.ip}:${ctx.idePort}`;
  if (ctx.routes.workspaceUpstream(name) === upstream) return c('True', 'Routed', `/workspace/${name}/ is live in the proxy, to ${upstream}.`);
  if (ctx.routes.lastError) {
    return c('False', ctx.routes.lastErrorReason, `The proxy (${ctx.proxy.name}) could not take the route table: ${ctx.routes.lastError}. Retrying with backoff.`);
  }
  if (!ctx.routes.known && getCondition(status, 'RouteReady')) return undefined;
  ctx.enqueueRoutes();
  return c('False', 'WaitingForRoute', `Waiting for the proxy to route /workspace/${name}/ to ${upstream}.`);
}

/** Every VM holding capacity, with what it holds and when its workspace was last accessed. */
function runningWorkspaces(ctx: Context, except: string): RunningWorkspace[] {
  const out: RunningWorkspace[] = [];
  // Reading the snapshot without awaiting keeps check-and-reserve in one synchronous step.
  for (const vm of ctx.vms.peek().values()) {
    if (vm.name === except || !HOLDS_CAPACITY.has(vm.state)) continue;
    const ws = ctx.store.get('Workspace', vm.name);
    // Last access as the proxy saw it; a workspace never used since it started counts from its start.
    const accessed = ws?.status?.lastAccessTime ?? ws?.status?.lastStartedTime ?? ws?.metadata.creationTimestamp;
    out.push({
      name: vm.name,
      cpu: vm.cpu ?? ws?.spec.resources.cpu ?? 0,
      memoryBytes: vm.memoryBytes ?? parseQuantity(ws?.spec.resources.memory ?? '') ?? 0,
      ...(accessed ? { accessedAt: Date.parse(accessed) } : {}),
      stoppable: !!ws && !ws.metadata.deletionTimestamp && ws.spec.running && vm.state === 'Running',
    });
  }
  return out;
}

function refusal(want: Usage, reasons: string[], lra: RunningWorkspace | undefined): string {
  const head = `Not enough capacity to start it (${want.cpu} vCPU, ${showBytes(want.memoryBytes)}): ${reasons.join('; ')}.`;
  const advice = lra
    ? ` Stop the least recently accessed running workspace, "${lra.name}"${lra.accessedAt !== undefined ? ` (last accessed ${timestamp(lra.accessedAt)})` : ''}, by setting its spec.running to false, or raise the budget.`
    : ' Wait for a workspace to stop, or raise the budget.';
  return `${head}${advice} It starts by itself once there is room.`;
}

const withoutIp = (vm: VM): VM => {
  const { ip: _ip, ...rest } = vm;
  return rest;
};
