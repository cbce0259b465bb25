// The ImageTemplate reconciler: the image of the spec's generation is built (in the background,
// controller/builds.ts), and status says which image workspaces are made from now. The image
// in use changes only when a build is whole; the one before is deleted then (workspaces made
// from it keep running: an Incus instance does not need its image). A failed build is not
// tried again until the spec changes or `tidepool rollout restart imagetemplate NAME`.
import { RESTARTED_AT_ANNOTATION, type ImageTemplate, type ImageTemplateStatus } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import type { Build } from '../builds.js';
import type { Result } from '../reconcile.js';
import { getCondition, setCondition, type ConditionInput } from '../status.js';
import type { Context } from './context.js';
import { deleteTemplate, ensureTemplateFinalizer } from './image-template-delete.js';

type Set = (c: Omit<ConditionInput, 'type'> & { type: 'Built' | 'Ready' }) => void;

export async function reconcileImageTemplate(ctx: Context, name: string): Promise<Result> {
  const found = ctx.store.get('ImageTemplate', name);
  if (!found) {
    ctx.builds.forget(name);
    return {};
  }
  if (found.metadata.deletionTimestamp) return deleteTemplate(ctx, found);
  const t = ensureTemplateFinalizer(ctx, found);
  if (!t) return {};
  const gen = t.metadata.generation ?? 1;
  const status: ImageTemplateStatus = structuredClone(t.status ?? {});
  const conditions = (status.conditions ??= []);
  const set: Set = (c) => setCondition(conditions, c, ctx.clock.now(), gen);
  if (!ctx.runtime.buildImage) {
    const message = `The ${ctx.runtime.name} runtime cannot build images; use an image of the server's (serve --image).`;
    set({ type: 'Built', status: 'False', reason: 'NotSupported', message });
    set({ type: 'Ready', status: 'False', reason: 'NotSupported', message });
    return write(ctx, t, { ...status, phase: 'Failed', observedGeneration: gen });
  }
  const b = ctx.builds.get(name);
  const build = b && b.uid === t.metadata.uid ? b : undefined;
  const replaced = takeSucceeded(ctx, t, status, build);
  if (build?.state === 'Failed' && build.generation === gen) noteFailure(ctx, t, status, build, set);
  if (status.image && status.imageGeneration === gen && !(await imageThere(ctx, status.image))) {
    ctx.events.record(
      ref(t),
      'Warning',
      'ImageMissing',
      `Image ${status.image} is gone from the runtime; building it again.`,
    );
    delete status.image;
    delete status.imageGeneration;
  }
  decide(ctx, t, status, build, set);
  const result = write(ctx, t, status);
  if (replaced) await ctx.runtime.deleteImage?.(replaced).catch(() => undefined);
  return result;
}

/** A build that succeeded becomes the image in use; returns the image it replaces. */
function takeSucceeded(ctx: Context, t: ImageTemplate, status: ImageTemplateStatus, b: Build | undefined) {
  if (b?.state !== 'Succeeded' || b.generation <= (status.imageGeneration ?? 0)) return undefined;
  const before = status.image;
  status.image = b.image;
  status.imageGeneration = b.generation;
  status.builtTime = timestamp(b.endedAt ?? ctx.clock.now());
  const took = b.endedAt && b.startedAt ? ` in ${Math.round((b.endedAt - b.startedAt) / 1000)} s` : '';
  ctx.events.record(ref(t), 'Normal', 'Built', `Built image ${b.image} (generation ${b.generation})${took}.`);
  return before && before !== b.image ? before : undefined;
}

function noteFailure(ctx: Context, t: ImageTemplate, status: ImageTemplateStatus, b: Build, set: Set): void {
  const f = b.failure!;
  // To the millisecond: a rollout restart asked after it, even within the same second, builds again.
  status.failedTime = new Date(b.endedAt ?? ctx.clock.now()).toISOString();
  const prev = getCondition(t.status, 'Built');
  const what = f.item
    ? `${stepWords(f.step)} ${f.step === 'setup' ? `(${f.item})` : `"${f.item}"`}`
    : stepWords(f.step);
  const message = `The build of generation ${b.generation} failed at ${what}: ${f.message}. ${keepWords(t)} Fix spec and apply, or retry with: tidepool rollout restart imagetemplate ${t.metadata.name}; the build log: tidepool logs imagetemplate/${t.metadata.name}`;
  if (!(prev?.reason === 'BuildFailed' && prev.message === message))
    ctx.events.record(ref(t), 'Warning', 'BuildFailed', message);
  set({ type: 'Built', status: 'False', reason: 'BuildFailed', message });
}

/** What to do now: keep a build going, wait for the base, start a build, or stand as built or failed. */
function decide(ctx: Context, t: ImageTemplate, status: ImageTemplateStatus, b: Build | undefined, set: Set): void {
  const gen = t.metadata.generation ?? 1;
  status.observedGeneration = gen;
  delete status.progress;
  const ready = () =>
    status.image
      ? set({
          type: 'Ready',
          status: 'True',
          reason: 'Built',
          message: `Workspaces are made from image ${status.image} (generation ${status.imageGeneration}).`,
        })
      : set({
          type: 'Ready',
          status: 'False',
          reason: 'NoImage',
          message: 'No image has been built yet: workspaces naming this template wait.',
        });
  ready();
  if (status.image && status.imageGeneration === gen) {
    status.phase = 'Ready';
    set({
      type: 'Built',
      status: 'True',
      reason: 'Built',
      message: `Image ${status.image} is built from generation ${gen}.`,
    });
    return;
  }
  if (b && (b.state === 'Queued' || b.state === 'Running') && b.generation === gen) {
    status.phase = 'Building';
    status.progress = b.state === 'Queued' ? 'waiting for other builds to end' : (b.progress ?? 'starting');
    set({
      type: 'Built',
      status: 'False',
      reason: 'Building',
      message: `Building generation ${gen}: ${status.progress}. ${keepWords(t, status)}`,
    });
    return;
  }
  if (failedAndNotRetried(t, status)) {
    status.phase = 'Failed';
    return;
  }
  const base = baseOf(ctx, t);
  if ('waiting' in base) {
    status.phase = 'Pending';
    set({ type: 'Built', status: 'False', reason: 'WaitingForBase', message: base.waiting });
    return;
  }
  if (b && (b.state === 'Queued' || b.state === 'Running')) {
    // A build of an older generation still runs: this one starts after it (builds are one at a time).
    status.phase = 'Building';
    status.progress = `generation ${b.generation} is still building; generation ${gen} follows`;
  }
  startBuild(ctx, t, base.baseBuild);
  status.phase = 'Building';
  status.progress ??= 'starting';
  set({
    type: 'Built',
    status: 'False',
    reason: 'Building',
    message: `Building generation ${gen}. ${keepWords(t, status)}`,
  });
}

/** The last build of this generation failed, and no rollout restart asked for another since. */
function failedAndNotRetried(t: ImageTemplate, status: ImageTemplateStatus): boolean {
  const c = getCondition(status, 'Built');
  if (c?.reason !== 'BuildFailed' || c.observedGeneration !== t.metadata.generation) return false;
  const asked = Date.parse(t.metadata.annotations?.[RESTARTED_AT_ANNOTATION] ?? '');
  return !(asked > Date.parse(status.failedTime ?? c.lastTransitionTime ?? ''));
}

function baseOf(ctx: Context, t: ImageTemplate): { baseBuild?: string } | { waiting: string } {
  const base = ctx.store.get('ImageTemplate', t.spec.base);
  if (!base) return {};
  if (base.status?.image) return { baseBuild: base.status.image };
  return { waiting: `Waiting for its base, image template "${t.spec.base}", to be built.` };
}

function startBuild(ctx: Context, t: ImageTemplate, baseBuild: string | undefined): void {
  const gen = t.metadata.generation ?? 1;
  const uid = t.metadata.uid ?? '';
  const image = `tidepool-tpl-${t.metadata.name}-g${gen}-${uid.replace(/-/g, '').slice(0, 8)}`;
  ctx.builds.start(
    {
      template: t.metadata.name,
      base: t.spec.base,
      ...(baseBuild ? { baseBuild } : {}),
      image,
      debianPackages: [...t.spec.debianPackages],
      npmPackages: [...t.spec.npmPackages],
      ...(t.spec.setup ? { setup: t.spec.setup } : {}),
    },
    uid,
    gen,
  );
  ctx.events.record(
    ref(t),
    'Normal',
    'Building',
    `Building generation ${gen} as image ${image} from "${t.spec.base}".`,
  );
}

async function imageThere(ctx: Context, image: string): Promise<boolean> {
  return (await ctx.runtime.hasImage?.(image)) ?? true;
}

const stepWords = (step: string) =>
  ({
    base: 'the base image',
    debianPackages: 'Debian package',
    npmPackages: 'npm package',
    setup: 'the setup script',
    publish: 'publishing the image',
  })[step] ?? step;

function keepWords(t: ImageTemplate, status: ImageTemplateStatus | undefined = t.status): string {
  return status?.image
    ? `Workspaces keep being made from the previous image ${status.image} (generation ${status.imageGeneration}).`
    : 'No image has been built yet.';
}

const ref = (t: ImageTemplate) => ({ kind: 'ImageTemplate', name: t.metadata.name, uid: t.metadata.uid! });

function write(ctx: Context, t: ImageTemplate, status: ImageTemplateStatus): Result {
  ctx.status.write('ImageTemplate', t.metadata.name, status);
  return {};
}
