// An ImageTemplate's finalizer: its images are deleted before the object goes (workspaces
// made from them keep running; a new one naming the template is refused at apply).
import type { ImageTemplate } from '../../specs/index.js';
import type { Result } from '../reconcile.js';
import type { Context } from './context.js';

/** Held by every ImageTemplate until its images are deleted. */
export const TEMPLATE_FINALIZER = 'tidepool/image';

/** Adds the finalizer (applied at once, durable with the next commit); the template as it now is. */
export function ensureTemplateFinalizer(ctx: Context, t: ImageTemplate): ImageTemplate | undefined {
  const name = t.metadata.name;
  if (t.metadata.finalizers?.includes(TEMPLATE_FINALIZER)) return t;
  ctx.status.track(
    ctx.store.transaction((tx) => {
      const cur = tx.get('ImageTemplate', name);
      if (!cur || cur.metadata.deletionTimestamp || cur.metadata.finalizers?.includes(TEMPLATE_FINALIZER)) return;
      const next = structuredClone(cur);
      next.metadata.finalizers = [...(next.metadata.finalizers ?? []), TEMPLATE_FINALIZER];
      tx.update(next);
    }),
    'ImageTemplate',
    name,
  );
  return ctx.store.get('ImageTemplate', name);
}

export async function deleteTemplate(ctx: Context, t: ImageTemplate): Promise<Result> {
  const name = t.metadata.name;
  if (!t.metadata.finalizers?.includes(TEMPLATE_FINALIZER)) return {};
  const build = ctx.builds.get(name);
  ctx.builds.forget(name);
  const images = new Set([t.status?.image, build?.state === 'Succeeded' ? build.image : undefined]);
  for (const image of images) if (image) await ctx.runtime.deleteImage?.(image);
  await ctx.store.transaction((tx) => {
    const cur = tx.get('ImageTemplate', name);
    if (!cur || cur.metadata.uid !== t.metadata.uid || !cur.metadata.finalizers?.includes(TEMPLATE_FINALIZER)) return;
    const next = structuredClone(cur);
    next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== TEMPLATE_FINALIZER);
    tx.update(next);
  });
  ctx.events.record(
    { kind: 'ImageTemplate', name, uid: t.metadata.uid! },
    'Normal',
    'Deleted',
    `Deleted its images (${[...images].filter(Boolean).join(', ') || 'none'}).`,
  );
  return {};
}
