// The workspace's home and where it starts from: a home volume made before the VM (a copy
// of another workspace's with spec.source.fromWorkspace), and spec.source.git cloned into
// ~/project as dev once the VM runs. Both are read only while the workspace is being made,
// and both are safe to run again after a crash: an existing home is kept, and the clone
// does nothing when ~/project is there.
import { keyOf, parseQuantity, siblingKey, type Workspace } from '../../specs/index.js';
import type { Condition, WorkspaceStatus } from '../../specs/index.js';
import { RuntimeError, type VM } from '../../drivers/runtime/types.js';
import { getCondition, setCondition, type ConditionReason, type ConditionType } from '../status.js';
import type { Context } from './context.js';
import { errorMessage } from '../../specs/errors.js';

export type Note = (type: 'Normal' | 'Warning', reason: string, text: string) => void;

/** Records events about `ws` (its kind, name and uid). */
export const noteFor =
  (ctx: Context, ws: Workspace): Note =>
  (type, reason, text) =>
    ctx.events.record({ kind: 'Workspace', name: keyOf(ws), uid: ws.metadata.uid! }, type, reason, text);

const conditions = (status: WorkspaceStatus): Condition[] => (status.conditions ??= []);

/** Why the VM cannot be made yet (the source home is missing), or undefined when the home is there. */
export interface HomeBlocked {
  reason: ConditionReason;
  message: string;
}

/**
 * Makes the home before the VM. A runtime without homes gets a condition saying the home is
 * on the VM's disk. Returns why not when the VM must wait (its source is missing).
 */
export async function ensureHome(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  note: Note,
): Promise<HomeBlocked | undefined> {
  const name = keyOf(ws);
  const source = ws.spec.source;
  const fromName = source?.fromWorkspace;
  // A home is copied only from a workspace of the same namespace: never from another person's.
  const from = fromName === undefined ? undefined : siblingKey(name, fromName);
  const now = ctx.clock.now();
  const gen = ws.metadata.generation;
  const set = (s: 'True' | 'False', reason: ConditionReason, message: string) =>
    setCondition(conditions(status), { type: 'HomeReady', status: s, reason, message }, now, gen);
  const homes = ctx.runtime.homes;
  if (!homes) {
    set(
      'False',
      'NotSupported',
      `Homes are not kept on the ${ctx.runtime.name} runtime: /home/dev is on the instance's own disk and goes with the instance${from ? '; spec.source.fromWorkspace is not copied' : ''}.`,
    );
    return undefined;
  }
  const missing = (message: string): HomeBlocked => {
    set('False', 'SourceNotFound', message);
    note('Warning', 'SourceNotFound', message);
    return { reason: 'SourceNotFound', message };
  };
  if (from !== undefined && !(await homes.exists(name))) {
    const src = ctx.store.get('Workspace', from);
    const advice =
      'The workspace is made once it exists; or remove spec.source.fromWorkspace to start with an empty home.';
    if (from === name)
      return missing(
        `spec.source.fromWorkspace: "${from}" is this workspace itself; a home cannot start as a copy of itself. Remove spec.source.fromWorkspace.`,
      );
    if (!src || src.metadata.deletionTimestamp)
      return missing(
        `spec.source.fromWorkspace: workspace "${from}" does not exist${src ? ' (it is being deleted)' : ''}, so there is no home to copy. ${advice}`,
      );
  }
  try {
    const { created } = await homes.ensure(name, from, {
      ...(ws.spec.placement ? { placement: ws.spec.placement } : {}),
      cpu: ws.spec.resources.cpu,
      memoryBytes: parseQuantity(ws.spec.resources.memory) ?? 0,
    });
    if (created) {
      note(
        'Normal',
        'HomeCreated',
        from ? `Made the home as a copy of workspace "${from}"'s home.` : 'Made an empty home.',
      );
    }
  } catch (err) {
    if (err instanceof RuntimeError && err.reason === 'SourceNotFound') {
      return missing(
        `spec.source.fromWorkspace: workspace "${from}" has no home yet (${err.message}). It is copied once there is one.`,
      );
    }
    throw err;
  }
  set(
    'True',
    'Kept',
    `The home at ${homes.path} is a ${ctx.runtime.name} volume of its own: it is kept across stop, start and a new image, and goes only with the workspace.`,
  );
  return undefined;
}

/**
 * Marks, before the instance runs, a step that happens once it does (a clone, dotfiles, the
 * saved settings, a devcontainer): `type` False with reason Pending, unless it says something already.
 */
export function markPending(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  type: ConditionType,
  message: string,
): void {
  if (getCondition(status, type)) return;
  setCondition(
    conditions(status),
    { type, status: 'False', reason: 'Pending', message },
    ctx.clock.now(),
    ws.metadata.generation,
  );
}

/** Marks, before the VM is made, that its spec.source.git is to be cloned: only a workspace being made clones. */
export function planClone(ctx: Context, ws: Workspace, status: WorkspaceStatus): void {
  const git = ws.spec.source?.git;
  if (git)
    markPending(ctx, ws, status, 'SourceReady', `${describe(git)} is cloned into ~/project once the instance runs.`);
}

/** Whether a clone planned at creation still has to run (or to be checked again after a crash). */
export function clonePending(status: WorkspaceStatus): boolean {
  const c = getCondition(status, 'SourceReady');
  return !!c && (c.reason === 'Pending' || c.reason === 'Cloning');
}

// Runs as dev in its home. Clones into a scratch directory and moves it into ~/project only
// when the clone and the checkout both worked, so a crash never leaves a half clone there. A
// ~/project with files in it is done (cloned before a crash, or the user's own); an empty one
// (the image makes it, and the IDE may have it open) is filled in place, not replaced. On
// failure ~/project stays empty and the workspace still starts. $1 url, $2 ref (may be empty).
const CLONE_SCRIPT = `set -u
cd "$HOME" || exit 90
if [ -d project ] && [ -n "$(ls -A project)" ]; then echo "tidepool: ~/project is there already"; exit 0; fi
mkdir -p project || exit 90
if ! command -v git >/dev/null 2>&1; then echo "git is not installed in this image" >&2; exit 91; fi
rm -rf .tidepool-clone
if ! git clone --quiet -- "$1" .tidepool-clone; then rm -rf .tidepool-clone; exit 92; fi
if [ -n "$2" ] && ! git -C .tidepool-clone checkout --quiet "$2" --; then rm -rf .tidepool-clone; exit 93; fi
for f in .tidepool-clone/* .tidepool-clone/.[!.]* .tidepool-clone/..?*; do
  [ -e "$f" ] && [ "$f" != .tidepool-clone/.git ] && { mv "$f" project/ || exit 94; }
done
mv .tidepool-clone/.git project/ && rmdir .tidepool-clone`;

const describe = (git: { url: string; ref?: string }) => `${git.url}${git.ref ? ` at ${git.ref}` : ''}`;

/**
 * Clones spec.source.git into ~/project as dev (uid 1000), when planned at creation. The
 * outcome is SourceReady and an event carrying git's own words. `writeProgress` is called
 * once the clone starts, so status says so while it runs.
 */
export async function cloneSource(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM,
  note: Note,
  writeProgress: () => void,
): Promise<void> {
  const git = ws.spec.source?.git;
  if (!git || !clonePending(status)) return;
  const gen = ws.metadata.generation;
  const set = (s: 'True' | 'False', reason: ConditionReason, message: string) =>
    setCondition(conditions(status), { type: 'SourceReady', status: s, reason, message }, ctx.clock.now(), gen);
  const exec = ctx.runtime.exec?.bind(ctx.runtime);
  if (!exec) {
    const message = `The ${ctx.runtime.name} runtime cannot run commands in the instance, so ${describe(git)} is not cloned; clone it in the IDE's terminal.`;
    set('False', 'NotSupported', message);
    note('Warning', 'CloneNotSupported', message);
    return;
  }
  const home = ctx.runtime.homes?.path ?? '/home/dev';
  set('False', 'Cloning', `Cloning ${describe(git)} into ~/project.`);
  note('Normal', 'Cloning', `Cloning ${describe(git)} into ~/project.`);
  writeProgress();
  let result;
  try {
    result = await exec(vm.name, ['sh', '-c', CLONE_SCRIPT, 'tidepool-clone', git.url, git.ref ?? ''], {
      uid: 1000,
      gid: 1000,
      cwd: home,
      env: { HOME: home, USER: 'dev', LOGNAME: 'dev', GIT_TERMINAL_PROMPT: '0', PATH: '/usr/local/bin:/usr/bin:/bin' },
      timeoutSeconds: 600,
    });
  } catch (err) {
    // The runtime could not run it at all (the VM went away, say): try again with backoff.
    set(
      'False',
      'Cloning',
      `Cloning ${describe(git)}: the ${ctx.runtime.name} runtime could not run git: ${errorMessage(err)}. Retrying.`,
    );
    throw err;
  }
  if (result.exitCode === 0) {
    const message = `Cloned ${describe(git)} into ~/project.`;
    set('True', 'Cloned', message);
    note('Normal', 'Cloned', message);
    return;
  }
  const said = (result.stderr.trim() || result.stdout.trim() || `exit code ${result.exitCode}`)
    .split('\n')
    .slice(-6)
    .join('\n');
  const what =
    result.exitCode === 93
      ? `checking out spec.source.git.ref "${git.ref}" failed`
      : `cloning spec.source.git.url ${git.url} failed`;
  const message = `${what[0]!.toUpperCase()}${what.slice(1)}: ${said}. ~/project is empty; the workspace starts without it (delete and re-create the workspace to clone again, or clone in the IDE's terminal).`;
  set('False', 'CloneFailed', message);
  note('Warning', 'CloneFailed', message);
}
