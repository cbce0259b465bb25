// Making a workspace's instance: from its image template (or the image its ImageTemplate
// built), with its home attached, started when spec.running says so; how it went in status
// and the activity log.
import { keyOf } from '../../specs/index.js';
import { askedBy } from './requester.js';
import type { Workspace, WorkspaceStatus } from '../../specs/index.js';
import { showBytes, type Usage } from '../capacity/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import { setCondition } from '../status.js';
import type { Context } from './context.js';
import { planDevcontainerFor } from './workspace-devcontainer.js';
import { planDotfiles } from './workspace-dotfiles.js';
import { buildOf } from './workspace-image.js';
import { planSettings } from './workspace-settings.js';
import { planClone, type Note } from './workspace-home.js';
import { vmReady, write } from './workspace-observe.js';

export async function create(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  want: Usage,
  spec: { image: string; running: boolean },
  note: Note,
  recreating: boolean,
): Promise<VM> {
  const name = keyOf(ws);
  const home = !!ctx.runtime.homes;
  const kept = home ? 'its home is kept' : 'its disk is lost';
  // It had a VM before (a phase past Creating): it was deleted behind Tidepool's back.
  const lost = !recreating && status.phase !== undefined && !['Pending', 'Creating', 'Failed'].includes(status.phase);
  const vmr = lost
    ? vmReady(
        'False',
        'VMNotFound',
        `The instance was not found in the ${ctx.runtime.name} runtime; creating it again (${kept}).`,
      )
    : vmReady(
        'False',
        recreating ? 'Recreating' : 'Creating',
        `Creating the instance from image "${spec.image}" (${want.cpu} vCPU, ${showBytes(want.memoryBytes)}).`,
      );
  // Only a workspace being made clones its source (read only at creation), and the plan is in status before the VM exists.
  if (!lost && !recreating) {
    planClone(ctx, ws, status);
    planSettings(ctx, ws, status);
    planDotfiles(ctx, ws, status);
    planDevcontainerFor(ctx, ws, status);
  }
  write(ctx, ws, status, { phase: 'Creating', vmReady: vmr });
  const made = await ctx.runtime.create({
    name,
    image: spec.image,
    ...buildOf(ctx, spec.image),
    cpu: want.cpu,
    memoryBytes: want.memoryBytes,
    start: spec.running,
    home,
    ...(ws.spec.placement ? { placement: ws.spec.placement } : {}),
  });
  // A driver that reports the VM as made (with its IP, when it has one) saves a list and a poll.
  const vm: VM = made ?? {
    name,
    state: spec.running ? 'Running' : 'Stopped',
    image: spec.image,
    ...buildOf(ctx, spec.image),
    cpu: want.cpu,
    memoryBytes: want.memoryBytes,
  };
  ctx.vms.patch(name, vm);
  if (lost)
    note('Warning', 'VMNotFound', `The instance was missing (deleted outside Tidepool); created it again (${kept}).`);
  if (recreating) {
    setCondition(
      (status.conditions ??= []),
      {
        type: 'ImageApplied',
        status: 'True',
        reason: 'Applied',
        message: `The instance runs image template "${spec.image}".`,
      },
      ctx.clock.now(),
      ws.metadata.generation,
    );
  }
  note(
    'Normal',
    recreating ? 'Recreated' : 'Created',
    `${recreating ? 'Made the instance again' : 'Created the instance'} from image "${spec.image}" (${want.cpu} vCPU, ${showBytes(want.memoryBytes)})${home ? ' with its home attached' : ''}${spec.running ? ' and started it' : ''}${askedBy(ws)}.`,
  );
  return vm;
}
