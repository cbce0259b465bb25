// A workspace whose spec.image names an ImageTemplate: it is made from the image the template
// built last (status.image), waits while there is none yet, and keeps running when the
// template is rebuilt: ImageApplied says an update waits, and the instance is made again
// (the home kept) at its next start, or now after `tidepool rollout restart workspace NAME`.
import { RESTARTED_AT_ANNOTATION, type ImageTemplate, type Workspace } from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import type { ConditionReason } from '../status.js';
import type { Context } from './context.js';

/** The ImageTemplate spec.image names, when it names one (not one of the server's own templates). */
export function templateOf(ctx: Context, image: string): ImageTemplate | undefined {
  return ctx.store.get('ImageTemplate', image);
}

/** `{build}` for a CreateVMRequest: the image an ImageTemplate built, or nothing for the server's templates. */
export function buildOf(ctx: Context, image: string): { build?: string } {
  const built = templateOf(ctx, image)?.status?.image;
  return built ? { build: built } : {};
}

/** Why a new instance cannot be made yet (its ImageTemplate has no image), or undefined. */
export function waitingForImage(ctx: Context, ws: Workspace): string | undefined {
  const t = templateOf(ctx, ws.spec.image);
  if (!t || t.status?.image) return undefined;
  const how =
    t.status?.phase === 'Failed'
      ? `its build failed (${t.status.conditions?.find((c) => c.type === 'Built')?.message ?? 'see tidepool describe imagetemplate'})`
      : `it is ${t.status?.phase === 'Building' ? `building: ${t.status.progress ?? ''}` : 'not built yet'}`;
  return `Waiting for image template "${t.metadata.name}" to be built: ${how}. The instance is made once it is.`;
}

export type SetImageApplied = (s: 'True' | 'False', reason: ConditionReason, message: string) => void;

/**
 * For a VM made from spec.image as it is: whether the template was rebuilt since, and whether
 * the instance is to be made again now (it is not running, or a rollout restart asked after
 * the build). Sets ImageApplied either way.
 */
export function imageUpdate(ctx: Context, ws: Workspace, vm: VM, set: SetImageApplied): boolean {
  const t = templateOf(ctx, ws.spec.image);
  const built = t?.status?.image;
  if (!t || !built || vm.build === built) {
    set(
      'True',
      'Applied',
      `The instance runs image template "${ws.spec.image}"${vm.build ? ` (image ${vm.build})` : ''}.`,
    );
    return false;
  }
  const asked = Date.parse(ws.metadata.annotations?.[RESTARTED_AT_ANNOTATION] ?? '');
  const builtAt = Date.parse(t.status?.builtTime ?? '');
  if ((vm.state === 'Stopped' && ws.spec.running) || asked >= builtAt) return true;
  set(
    'False',
    'UpdateWaiting',
    `Image template "${t.metadata.name}" was rebuilt (image ${built}, generation ${t.status?.imageGeneration}); the instance keeps running ${vm.build ? `image ${vm.build}` : 'its image'} and takes the new one at its next start, or now with: tidepool rollout restart workspace ${ws.metadata.name} (the home is kept).`,
  );
  return false;
}

/** Whether the image of an ImageTemplate can be used (it has one, and the runtime still has it); a message when not. */
export async function templateImageProblem(ctx: Context, image: string): Promise<string | undefined> {
  const t = templateOf(ctx, image);
  if (!t) return undefined;
  const built = t.status?.image;
  if (!built) return `image template "${image}" has no built image yet (phase ${t.status?.phase ?? 'Pending'})`;
  if ((await ctx.runtime.hasImage?.(built)) === false)
    return `the image ${built} of template "${image}" is gone from the runtime`;
  return undefined;
}
