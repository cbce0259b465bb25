// Spec changes of a workspace whose VM exists: new resources are applied live where the
// runtime can (after the capacity check), a new image recreates the VM with the same home.
// A change that cannot be applied is a condition naming the field; the running VM stays.
import { keyOf } from '../../specs/index.js';
import type { Workspace } from '../../specs/index.js';
import type { Condition, WorkspaceStatus } from '../../specs/index.js';
import { showBytes, type RunningWorkspace, type Usage } from '../capacity/index.js';
import { RuntimeError, type VM } from '../../drivers/runtime/types.js';
import { getCondition, setCondition, type ConditionReason } from '../status.js';
import { HOLDS_CAPACITY } from '../vm-cache.js';
import type { Context } from './context.js';
import type { Note } from './workspace-home.js';
import { imageUpdate, templateImageProblem, templateOf } from './workspace-image.js';
import { errorMessage } from '../../specs/errors.js';

const conditions = (status: WorkspaceStatus): Condition[] => (status.conditions ??= []);
const show = (r: { cpu?: number; memoryBytes?: number }) =>
  `${r.cpu ?? '?'} vCPU, ${r.memoryBytes !== undefined ? showBytes(r.memoryBytes) : '?'}`;

/**
 * Brings the VM's vCPUs and memory to spec.resources and says how that stands in
 * ResourcesApplied. Returns the VM as it is after.
 */
export async function applyResources(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  want: Usage,
  others: () => RunningWorkspace[],
  note: Note,
): Promise<VM> {
  const name = keyOf(ws);
  const set = setterOf('ResourcesApplied', ctx, ws, status);
  // A runtime that does not report resources: nothing to compare, nothing claimed.
  if (vm.cpu === undefined && vm.memoryBytes === undefined) return vm;
  const fields = resourcesOff(vm, want);
  if (fields.length === 0) {
    set('True', 'Applied', resourcesAsAsked(want));
    return vm;
  }
  const what = `${fields.join(' and ')} (${show(vm)} → ${show(want)})`;
  const update = ctx.runtime.updateResources?.bind(ctx.runtime);
  if (!update) {
    set(
      'False',
      'NotSupported',
      `The ${ctx.runtime.name} runtime cannot change the resources of an existing instance: ${what} is not applied; it takes effect when the instance is made again (delete and re-create the workspace).`,
    );
    return vm;
  }
  // Tried for this spec already and refused, or kept for the next start: not again until the spec changes.
  const prev = getCondition(status, 'ResourcesApplied');
  if (
    prev?.status === 'False' &&
    prev.observedGeneration === ws.metadata.generation &&
    (prev.reason === 'Refused' || prev.reason === 'WaitingForRestart')
  )
    return vm;

  return changeResources({ ctx, name, vm, want, what, set, note }, update, others);
}

type SetApplied = (s: 'True' | 'False', reason: ConditionReason, message: string) => void;

const resourcesAsAsked = (want: Usage) => `The instance has ${show(want)}, as spec.resources asks.`;

/** Sets the workspace's condition `type` (ImageApplied, ResourcesApplied) in the status being built. */
function setterOf(
  type: 'ImageApplied' | 'ResourcesApplied',
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
): SetApplied {
  return (s, reason, message) =>
    setCondition(conditions(status), { type, status: s, reason, message }, ctx.clock.now(), ws.metadata.generation);
}

/** The spec.resources fields the VM (as the runtime reports it) does not have as asked. */
function resourcesOff(vm: VM, want: Usage): string[] {
  const fields: string[] = [];
  if (vm.cpu !== undefined && vm.cpu !== want.cpu) fields.push('spec.resources.cpu');
  if (vm.memoryBytes !== undefined && vm.memoryBytes !== want.memoryBytes) fields.push('spec.resources.memory');
  return fields;
}

/**
 * A VM just made from spec.image with spec.resources, as the runtime reported it back: its
 * ImageApplied and ResourcesApplied go in the create's own status write, where the next pass
 * would otherwise write them on their own (that pass still checks both against the instance
 * as listed, and acts on any difference).
 */
export function sayMadeAsAsked(ctx: Context, ws: Workspace, status: WorkspaceStatus, vm: VM, want: Usage): void {
  if (vm.image !== ws.spec.image) return;
  imageUpdate(ctx, ws, vm, setterOf('ImageApplied', ctx, ws, status));
  if (vm.cpu === undefined && vm.memoryBytes === undefined) return;
  if (resourcesOff(vm, want).length === 0)
    setterOf('ResourcesApplied', ctx, ws, status)('True', 'Applied', resourcesAsAsked(want));
}

/** One resources change that is to be tried now: its workspace, the instance as it is, and how to tell. */
interface ResourcesChange {
  ctx: Context;
  name: string;
  vm: VM;
  want: Usage;
  /** The fields and values that change, for messages. */
  what: string;
  set: SetApplied;
  note: Note;
}

/** Admits the change against the budget (a running instance holds capacity), asks the runtime,
 * and says how it went; returns the instance as it is after. */
async function changeResources(
  c: ResourcesChange,
  update: NonNullable<Context['runtime']['updateResources']>,
  others: () => RunningWorkspace[],
): Promise<VM> {
  const { ctx, name, vm, want, what, set, note } = c;
  const holding = HOLDS_CAPACITY.has(vm.state);
  if (holding) {
    const admission = ctx.capacity.admit(want, others());
    if (!admission.ok) {
      const message = `${what} is not applied: ${admission.reasons.join('; ')}. The workspace keeps running with ${show(vm)}; it is applied by itself once there is room, or lower spec.resources.`;
      set('False', 'InsufficientCapacity', message);
      note('Warning', 'ResourcesRefused', message);
      return vm;
    }
  }
  let how;
  try {
    how = await update(name, { cpu: want.cpu, memoryBytes: want.memoryBytes });
  } catch (err) {
    if (err instanceof RuntimeError && err.reason === 'RuntimeUnavailable') throw err;
    const message = `The ${ctx.runtime.name} runtime refused ${what}: ${errorMessage(err)}. The workspace keeps running with ${show(vm)}; change spec.resources to try again.`;
    ctx.vms.markDirty(name);
    set('False', 'Refused', message);
    note('Warning', 'ResourcesRefused', message);
    return vm;
  } finally {
    ctx.capacity.release(name);
  }
  if (how === 'nextStart') {
    const message = `${what} takes effect at the instance's next start: the ${ctx.runtime.name} runtime cannot change a running instance.`;
    set('False', 'WaitingForRestart', message);
    note('Normal', 'ResourcesPending', message);
    return vm;
  }
  const next: VM = { ...vm, cpu: want.cpu, memoryBytes: want.memoryBytes };
  ctx.vms.patch(name, next);
  set(
    'True',
    'Applied',
    `The instance has ${show(want)}, as spec.resources asks (applied ${vm.state === 'Running' ? 'live, without a restart' : 'while stopped'}).`,
  );
  note(
    'Normal',
    'ResourcesUpdated',
    `Applied ${what} ${vm.state === 'Running' ? 'live, without a restart' : 'to the stopped instance'}.`,
  );
  return next;
}

/**
 * Whether the VM is to be made again from a new spec.image (keeping its home). When the image
 * cannot be used, or the runtime keeps no home to carry over, ImageApplied says so and the VM stays.
 */
export async function shouldRecreate(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  note: Note,
): Promise<boolean> {
  const image = ws.spec.image;
  const gen = ws.metadata.generation;
  const set = setterOf('ImageApplied', ctx, ws, status);
  if (vm.image === undefined) return false;
  if (vm.image === image) {
    if (!imageUpdate(ctx, ws, vm, set)) return false;
    const words = `image template "${image}" was rebuilt (image ${templateOf(ctx, image)?.status?.image})`;
    set('False', 'Recreating', `Making the instance again: ${words}; the home is kept.`);
    note('Normal', 'Recreating', `Making the instance again: ${words}; the home is kept and attached again.`);
    return true;
  }
  const keep = `The instance keeps running image "${vm.image}".`;
  if (!ctx.runtime.homes) {
    set(
      'False',
      'NotSupported',
      `spec.image "${image}" is not applied: the ${ctx.runtime.name} runtime keeps no home apart from the instance, so making the instance again would lose its files. ${keep} Delete and re-create the workspace to use the new image.`,
    );
    return false;
  }
  const problem = await templateImageProblem(ctx, image);
  if (problem) {
    set('False', 'WaitingForImage', `spec.image "${image}" cannot be used yet: ${problem}. ${keep}`);
    return false;
  }
  try {
    if (!templateOf(ctx, image)) await ctx.runtime.checkImage?.(image);
  } catch (err) {
    if (!(err instanceof RuntimeError) || err.reason === 'RuntimeUnavailable') throw err;
    const message = `spec.image "${image}" cannot be used: ${err.message}. ${keep}`;
    const prev = getCondition(status, 'ImageApplied');
    if (!(prev?.reason === err.reason && prev.observedGeneration === gen)) note('Warning', 'ImageRefused', message);
    set('False', err.reason, message);
    return false;
  }
  set('False', 'Recreating', `Making the instance again from image "${image}" (was "${vm.image}"); the home is kept.`);
  note(
    'Normal',
    'Recreating',
    `spec.image changed from "${vm.image}" to "${image}": making the instance again from the new image; the home is kept and attached again.`,
  );
  return true;
}
