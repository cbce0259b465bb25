// The Workspace reconciler: makes the VM match the Workspace (exists, running or not,
// IDE answering) and says how it stands in status. It reads the whole object and the
// whole VM each time, acts at most once, and writes status only when it changed.
// The steps with state of their own are apart (workspace-home.ts, workspace-spec.ts,
// workspace-delete.ts), and so is how it stands as status (workspace-observe.ts).
import { keyOf } from '../../specs/index.js';
import { askedBy } from './requester.js';
import type { Workspace } from '../../specs/index.js';
import { parseQuantity, type WorkspaceStatus } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import { neverFits, type Usage } from '../capacity/index.js';
import { RuntimeError, type VM } from '../../drivers/runtime/types.js';
import { TerminalError, type Result } from '../reconcile.js';
import { errorMessage } from '../../specs/errors.js';
import { MIN_POLL_MS, SLOW_POLL_MS, type Context } from './context.js';
import { finalize, orphan } from './workspace-delete.js';
import { create } from './workspace-create.js';
import { applyDevcontainer, devcontainerDue } from './workspace-devcontainer.js';
import { dotfilesPending, installDotfiles } from './workspace-dotfiles.js';
import { ensureFinalizer, unreachable } from './workspace-guards.js';
import { waitingForImage } from './workspace-image.js';
import { applySettings, saveSettings, settingsPending } from './workspace-settings.js';
import { cloneSource, clonePending, ensureHome, noteFor, type Note } from './workspace-home.js';
import { applyResources, sayMadeAsAsked, shouldRecreate } from './workspace-spec.js';
import { observe, vmReady, write } from './workspace-observe.js';
import { convergeAsleep, makeRoom } from './workspace-sleep.js';
import { runningWorkspaces } from './workspace-capacity.js';

export { FINALIZER } from './context.js';

export async function reconcileWorkspace(ctx: Context, name: string): Promise<Result> {
  let vm: VM | undefined;
  try {
    vm = await ctx.vms.one(name);
    // A VM on its way somewhere (or without an IP yet) needs news newer than the last poll: a
    // look at that one instance, never a listing of the host (that would grow with every
    // instance, for every poll of every starting workspace).
    if (vm && (vm.state === 'Starting' || vm.state === 'Stopping' || (vm.state === 'Running' && !vm.ip))) {
      vm = await ctx.vms.one(name, { maxAgeMs: MIN_POLL_MS });
    }
  } catch (err) {
    unreachable(ctx, name, err as Error);
    throw err;
  }
  const ws = ctx.store.get('Workspace', name);
  if (!ws) return orphan(ctx, name, vm);
  ctx.orphans.declared(name);
  if (ws.metadata.deletionTimestamp) return finalize(ctx, ws);
  const current = ensureFinalizer(ctx, ws);
  if (!current) return {};
  if (current.metadata.deletionTimestamp) return finalize(ctx, current);
  return converge(ctx, current, vm);
}

/** What one convergence works on: the Workspace as read, the status being built, and its notes. */
interface Convergence {
  ctx: Context;
  ws: Workspace;
  name: string;
  want: Usage;
  prev: WorkspaceStatus;
  status: WorkspaceStatus;
  note: Note;
}

/** A step either leaves the instance as it now is, or ends the reconcile with a result. */
type Step = { vm: VM | undefined; result?: undefined } | { result: Result };

/**
 * The lifecycle, one decision per step in the order they apply: recreate on a new image,
 * then at most one runtime action (create or start, stop, or resources live), then the clone,
 * then how it stands. Each step is a function of its own below.
 */
async function converge(ctx: Context, ws: Workspace, vm: VM | undefined): Promise<Result> {
  const c = convergence(ctx, ws);
  const spec = ws.spec;
  if (!spec.running) {
    ctx.capacity.waiting.delete(c.name);
    ctx.sleepers.wake(c.name); // a real stop: nothing wakes it
  } else if (ctx.sleepers.get(c.name)) return convergeAsleep(ctx, ws, c.status, vm, c.note);

  const recreate = await recreateOnNewImage(c, vm);
  if (recreate.result) return recreate.result;
  let step: Step = recreate;
  const now = await followPlacement(c, recreate.vm);
  if (!now || (spec.running && now.state === 'Stopped')) {
    step = await createOrStart(c, now, now === undefined && vm !== undefined);
    if (!now && !step.result && step.vm) sayMadeAsAsked(ctx, ws, c.status, step.vm, c.want);
  } else if (!spec.running && (now.state === 'Running' || now.state === 'Starting')) step = await stopInstance(c, now);
  else if (now.state === 'Running' || now.state === 'Stopped')
    step = { vm: await applyResources(ctx, ws, c.status, now, c.want, () => runningWorkspaces(ctx, c.name), c.note) };
  if (step.result) return step.result;
  const after = step.vm;

  // spec.source.git, planned at creation: cloned once the instance runs, before it is Ready.
  if (spec.running && after?.state === 'Running' && after.ip && clonePending(c.status)) {
    const ip = after.ip;
    const cloning = vmReady('False', 'Cloning', 'Cloning spec.source.git into ~/project; Ready once it is done.');
    await cloneSource(ctx, ws, c.status, after, c.note, () =>
      write(ctx, ws, c.status, { phase: 'Starting', ip, vmReady: cloning }),
    );
  }
  // The saved editor settings, then the dotfiles (which may change them), both planned at creation.
  if (spec.running && after?.state === 'Running' && after.ip && settingsPending(c.status))
    await applySettings(ctx, ws, c.status, after, c.note);
  if (spec.running && after?.state === 'Running' && after.ip && dotfilesPending(c.status)) {
    const installing = vmReady('False', 'InstallingDotfiles', 'Installing the dotfiles; Ready once they are.');
    write(ctx, ws, c.status, { phase: 'Starting', ip: after.ip, vmReady: installing });
    await installDotfiles(ctx, ws, c.status, after, c.note);
  }
  // The repository's devcontainer.json, once it is cloned: its commands, Ports, environment and editor set-up.
  if (
    spec.running &&
    after?.state === 'Running' &&
    after.ip &&
    !clonePending(c.status) &&
    devcontainerDue(ctx, c.name, c.status)
  )
    await applyDevcontainer(ctx, ws, c.status, after, c.note);
  return write(ctx, ws, c.status, await observe(ctx, ws, after, c.prev));
}

/**
 * Moves the VM with its home (the runtime stops, moves and starts it) when spec.placement names
 * another member, or when its member is cordoned (drained) and spec.placement does not pin it
 * there. Returns the VM as it is after.
 */
async function followPlacement(c: Convergence, vm: VM | undefined): Promise<VM | undefined> {
  const placement = c.ws.spec.placement;
  const move = c.ctx.runtime.move?.bind(c.ctx.runtime);
  if (!vm?.node || vm.nodeUnreachable || !move) return vm;
  const named = placement && !placement.startsWith('@') ? placement : undefined;
  let to: string | undefined;
  let why: string;
  if (named && named !== vm.node) {
    to = named;
    why = 'spec.placement';
  } else if (vm.nodeCordoned) {
    if (named === vm.node) {
      // Said once per reconcile that finds it so; the drain reports it from the events.
      c.note(
        'Warning',
        'CannotMove',
        `Cluster member ${vm.node} is cordoned (drained), but spec.placement pins the workspace there, so it stays; change spec.placement to move it.`,
      );
      return vm;
    }
    why = `member ${vm.node} is cordoned (drained)`;
  } else return vm;
  c.note(
    'Normal',
    'Moving',
    `Moving the workspace and its home off cluster member ${vm.node}${to ? ` to ${to}` : ''} (${why}).`,
  );
  try {
    await move(c.name, to);
  } catch (err) {
    c.note('Warning', 'CannotMove', `Moving off cluster member ${vm.node} failed: ${errorMessage(err)}`);
    throw err;
  }
  const after = (await c.ctx.runtime.get?.(c.name)) ?? vm;
  c.note('Normal', 'Moved', `Moved to cluster member ${after.node ?? to}.`);
  return after;
}

function convergence(ctx: Context, ws: Workspace): Convergence {
  const name = keyOf(ws);
  const memoryBytes = parseQuantity(ws.spec.resources.memory);
  if (memoryBytes === undefined)
    throw new TerminalError(`workspace ${name}: spec.resources.memory "${ws.spec.resources.memory}" is not a quantity`);
  const prev: WorkspaceStatus = ws.status ?? {};
  const status: WorkspaceStatus = structuredClone(prev);
  status.instance = ctx.runtime.instanceName?.(name) ?? name;
  if (!ws.spec.running || !ctx.sleepers.get(name)) delete status.sleep;
  return {
    ctx,
    ws,
    name,
    want: { name, cpu: ws.spec.resources.cpu, memoryBytes },
    prev,
    status,
    note: noteFor(ctx, ws),
  };
}

/** A new image: the instance is deleted here and made again (by createOrStart) with the same home. */
async function recreateOnNewImage(c: Convergence, vm: VM | undefined): Promise<Step> {
  const { ctx, ws, status, note, name } = c;
  if (!vm || vm.state === 'Error' || !(await shouldRecreate(ctx, ws, status, vm, note))) return { vm };
  write(ctx, ws, status, {
    phase: 'Creating',
    vmReady: vmReady(
      'False',
      'Recreating',
      `Making the instance again from image "${ws.spec.image}"; the home is kept.`,
    ),
  });
  try {
    await ctx.runtime.delete(name);
  } catch (err) {
    return fail(ctx, ws, status, 'delete (to recreate)', err as Error, note);
  }
  ctx.vms.patch(name, null);
  ctx.ide.unwatch(name);
  return { vm: undefined };
}

/** No instance: make its home and create it; a stopped one that should run: start it. Both
 * only when the budget admits it (a refusal names what would have to stop). */
async function createOrStart(c: Convergence, vm: VM | undefined, recreating: boolean): Promise<Step> {
  const { ctx, ws, status, note, name, want } = c;
  const spec = ws.spec;
  if (!vm) {
    const waiting = waitingForImage(ctx, ws);
    if (waiting)
      return {
        result: write(ctx, ws, status, { phase: 'Pending', vmReady: vmReady('False', 'WaitingForImage', waiting) }),
      };
    const blocked = await ensureHome(ctx, ws, status, note).catch((err: Error) =>
      fail(ctx, ws, status, 'make the home of', err, note),
    );
    if (blocked) {
      return {
        result: write(ctx, ws, status, {
          phase: 'Pending',
          vmReady: vmReady('False', blocked.reason, blocked.message),
          requeueAfterMs: SLOW_POLL_MS,
        }),
      };
    }
  }
  if (spec.running) {
    const refused = admit(c);
    if (refused) return { result: refused };
  }
  try {
    const made = !vm ? await create(ctx, ws, status, want, spec, note, recreating) : await start(ctx, ws, vm, note);
    if (spec.running) {
      status.lastStartedTime = timestamp(ctx.clock.now());
      ctx.ideWaitSince.set(name, ctx.clock.now());
    }
    return { vm: made };
  } catch (err) {
    if (err instanceof RuntimeError && (err.reason === 'AlreadyExists' || err.code === 409)) {
      // Someone made it since the last list (another controller, a person): look again.
      ctx.vms.markDirty(name);
      return { result: { requeueAfterMs: 0 } };
    }
    return fail(ctx, ws, status, !vm ? 'create' : 'start', err as Error, note);
  } finally {
    ctx.capacity.release(name);
  }
}

/** Whether the budget lets it run now; the status that says why not, when it does not. */
function admit(c: Convergence): Result | undefined {
  const { ctx, ws, status, note, name, want } = c;
  const never = neverFits(ctx.capacity.budget, want);
  if (never.length) {
    // Terminal until the spec or the budget changes: there is nothing to wait for.
    const message = `It can never start under this budget: ${never.join('; ')}. Lower spec.resources, or raise the budget.`;
    note('Warning', 'ExceedsBudget', message);
    return write(ctx, ws, status, { phase: 'Pending', vmReady: vmReady('False', 'ExceedsBudget', message) });
  }
  const admission = ctx.capacity.admit(want, runningWorkspaces(ctx, name));
  if (admission.ok) return undefined;
  const room = makeRoom(ctx, ws, status, note, admission);
  if (room) return room;
  note('Warning', 'InsufficientCapacity', admission.message);
  return write(ctx, ws, status, {
    phase: 'Pending',
    vmReady: vmReady('False', 'InsufficientCapacity', admission.message),
  });
}

/** spec.running is false and the instance runs: stop it (its disk is kept). */
async function stopInstance(c: Convergence, vm: VM): Promise<Step> {
  const { ctx, ws, status, note, name } = c;
  const drift = c.prev.phase === 'Stopped';
  if (!drift) await saveSettings(ctx, ws, vm, note);
  write(ctx, ws, status, {
    phase: 'Stopping',
    vmReady: vmReady('False', 'Stopping', 'Stopping the instance (spec.running is false).'),
  });
  try {
    await ctx.runtime.stop(name);
  } catch (err) {
    return fail(ctx, ws, status, 'stop', err as Error, note);
  }
  const stopped: VM = { ...withoutIp(vm), state: 'Stopped' };
  ctx.vms.patch(name, stopped);
  ctx.ideWaitSince.delete(name);
  note(
    'Normal',
    'Stopped',
    drift
      ? 'The instance was started outside Tidepool; stopped it again (spec.running is false).'
      : `Stopped the instance; its disk is kept${askedBy(ws)}.`,
  );
  return { vm: stopped };
}

async function start(ctx: Context, ws: Workspace, vm: VM, note: Note): Promise<VM> {
  const name = keyOf(ws);
  const drift = ws.status?.phase === 'Running' || ws.status?.phase === 'Starting';
  await ctx.runtime.start(name);
  const started: VM = { ...withoutIp(vm), state: 'Running' };
  ctx.vms.patch(name, started);
  note(
    'Normal',
    'Started',
    drift
      ? 'The instance was stopped outside Tidepool; started it again (spec.running is true).'
      : `Started the instance${askedBy(ws)}.`,
  );
  return started;
}

/** A runtime action failed: say so in status, then throw so the key comes back with backoff. */
async function fail(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  op: string,
  err: Error,
  note: Note,
): Promise<never> {
  // A failed action may still have done something: the retry lists again before acting.
  ctx.vms.markDirty(keyOf(ws));
  // An image the runtime cannot make VMs from is the user's to fix: say which field.
  const badImage = err instanceof RuntimeError && (err.reason === 'UnknownImage' || err.reason === 'ImageNotFound');
  const words = badImage ? `spec.image "${ws.spec.image}": ${err.message}` : err.message;
  const message = `The ${ctx.runtime.name} runtime failed to ${op} the instance: ${words}. Retrying with backoff.`;
  const word = op.split(' ')[0]!;
  note('Warning', `${word[0]!.toUpperCase()}${word.slice(1)}Failed`, words);
  write(ctx, ws, status, {
    phase: 'Failed',
    vmReady: vmReady('False', badImage ? err.reason : 'RuntimeError', message),
  });
  throw err;
}

const withoutIp = (vm: VM): VM => {
  const { ip: _ip, ...rest } = vm;
  return rest;
};
