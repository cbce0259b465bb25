// A workspace that sleeps: spec.running stays true, the instance is stopped with its home
// kept, and the status says since when and why (phase Sleeping, Ready False with reason Idle).
// It wakes when the sleep is lifted (a request through the proxy, `tidepool wake`); then the
// lifecycle in workspace.ts starts it like any stopped workspace that should run. Making room
// is here too: a start that does not fit puts idle workspaces with an idle timeout to sleep.
import { keyOf, workspacePath } from '../../specs/index.js';
import type { Workspace, WorkspaceSleep, WorkspaceStatus } from '../../specs/index.js';
import { timestamp } from '../../store/index.js';
import type { VM } from '../../drivers/runtime/types.js';
import type { Admission } from '../capacity/index.js';
import { duration } from '../capacity/advice.js';
import { SIGNAL_WORDS, type IdleSignal } from '../idle/decision.js';
import { workspaceKey } from '../keys.js';
import type { Result } from '../reconcile.js';
import { POLL_MS, SLOW_POLL_MS, type Context } from './context.js';
import type { Note } from './workspace-home.js';
import { vmReady, write } from './workspace-observe.js';
import { saveSettings } from './workspace-settings.js';

/** Converges a sleeping workspace: stops its instance when it runs, and says it sleeps. */
export async function convergeAsleep(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  vm: VM | undefined,
  note: Note,
): Promise<Result> {
  const name = keyOf(ws);
  const sleep = ctx.sleepers.get(name)!;
  ctx.capacity.waiting.delete(name);
  status.sleep = sleep;
  if (vm && (vm.state === 'Running' || vm.state === 'Starting')) {
    // Sleeping is a stop as far as the editor settings go: the next workspace made gets them.
    await saveSettings(ctx, ws, vm, note);
    write(ctx, ws, status, {
      phase: 'Stopping',
      vmReady: vmReady('False', 'Stopping', 'Going to sleep: stopping the instance; its home is kept.'),
    });
    try {
      await ctx.runtime.stop(name);
    } catch (err) {
      ctx.vms.markDirty(name);
      note('Warning', 'SleepFailed', `The instance could not be stopped to sleep: ${(err as Error).message}`);
      throw err;
    }
    const { ip: _ip, ...rest } = vm;
    ctx.vms.patch(name, { ...rest, state: 'Stopped' });
    ctx.ideWaitSince.delete(name);
    ctx.activity.resetSamples(name);
    note('Normal', 'Sleeping', asleepMessage(ctx, ws, sleep));
  } else if (vm?.state === 'Stopping') {
    return write(ctx, ws, status, {
      phase: 'Stopping',
      vmReady: vmReady('False', 'Stopping', 'Going to sleep: the instance is stopping.'),
      requeueAfterMs: POLL_MS,
    });
  }
  return write(ctx, ws, status, {
    phase: 'Sleeping',
    vmReady: vmReady('False', 'Idle', asleepMessage(ctx, ws, sleep)),
  });
}

/** Why it sleeps, since when, what last used it, and how to wake it. */
export function asleepMessage(ctx: Context, ws: Workspace, sleep: WorkspaceSleep): string {
  const name = keyOf(ws);
  const wake = `Its home is kept; opening ${workspacePath(name)}/ (or \`tidepool wake ${name}\`) wakes it.`;
  const last =
    sleep.lastSignal && sleep.lastActiveTime
      ? ` It was last used at ${sleep.lastActiveTime}, seen by ${SIGNAL_WORDS[sleep.lastSignal as IdleSignal] ?? sleep.lastSignal}.`
      : '';
  if (sleep.message) return `${sleep.message}${last} ${wake}`;
  const timeout = ctx.sleepers.timeoutMs(ws);
  const why =
    sleep.reason === 'Idle'
      ? `Asleep since ${sleep.since}: nothing used it for ${duration(timeout)} (idle timeout ${ws.spec.idleTimeout ?? `${timeout / 1000}s, the server's default`}).`
      : `Asleep since ${sleep.since}, on request.`;
  return `${why}${last} ${wake}`;
}

/**
 * A start refused for capacity: when the server allows it and putting idle workspaces with an
 * idle timeout to sleep (least recently accessed first) makes room, they are put to sleep and
 * this one waits for them (it is enqueued again when they have stopped). Never one without an
 * idle timeout. Undefined when that does not make room (the refusal stands).
 */
export function makeRoom(
  ctx: Context,
  ws: Workspace,
  status: WorkspaceStatus,
  note: Note,
  admission: Admission,
): Result | undefined {
  if (admission.ok || !ctx.sleepers.makeRoom) return undefined;
  const plan = admission.sleepPlan;
  if (!plan.enough || plan.stop.length === 0) return undefined;
  const name = keyOf(ws);
  const now = ctx.clock.now();
  const names = plan.stop.map((c) => `"${c.name}"`).join(', ');
  for (const c of plan.stop) {
    const other = ctx.store.get('Workspace', c.name);
    if (!other) continue;
    const idle = c.accessedAt === undefined ? 'never accessed' : `idle for ${duration(now - c.accessedAt)}`;
    const message = `Put to sleep to make room for "${name}" (${idle}, the least recently used with an idle timeout).`;
    if (!ctx.sleepers.put(c.name, { since: timestamp(now), reason: 'MakingRoom', message })) continue;
    ctx.events.record(
      { kind: 'Workspace', name: c.name, uid: other.metadata.uid! },
      'Normal',
      'SleepingToMakeRoom',
      message,
    );
    ctx.queue.add(workspaceKey(c.name));
  }
  const message = `Not enough capacity to start it now; putting ${names} to sleep to make room (idle workspaces with an idle timeout, least recently used first). It starts once they have stopped.`;
  note('Normal', 'MakingRoom', message);
  return write(ctx, ws, status, {
    phase: 'Pending',
    vmReady: vmReady('False', 'MakingRoom', message),
    requeueAfterMs: SLOW_POLL_MS,
  });
}
