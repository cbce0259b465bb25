// What holds capacity now, as the admission of a start sees it: every VM that runs (or is
// starting or stopping), with its share, when it was last accessed, and whether it may be
// stopped or put to sleep to make room (one with an idle timeout, and no work going on in it:
// no exec session open, no CPU or network use in the last two idle ticks); the warm pool's share too.
import { parseQuantity } from '../../specs/index.js';
import type { RunningWorkspace } from '../capacity/index.js';
import { HOLDS_CAPACITY } from '../vm-cache.js';
import type { Context } from './context.js';

/** Every VM holding capacity, with what it holds and when its workspace was last accessed. */
export function runningWorkspaces(ctx: Context, except: string): RunningWorkspace[] {
  const out: RunningWorkspace[] = [];
  const now = ctx.clock.now();
  // Reading the snapshot without awaiting keeps check-and-reserve in one synchronous step.
  for (const vm of ctx.vms.peek().values()) {
    if (vm.name === except || !HOLDS_CAPACITY.has(vm.state)) continue;
    const ws = ctx.store.get('Workspace', vm.name);
    // Last access as the proxy saw it; a workspace never used since it started counts from its start.
    const stoppable = !!ws && !ws.metadata.deletionTimestamp && ws.spec.running && vm.state === 'Running';
    const accessed = ws?.status?.lastAccessTime ?? ws?.status?.lastStartedTime ?? ws?.metadata.creationTimestamp;
    out.push({
      name: vm.name,
      cpu: vm.cpu ?? ws?.spec.resources.cpu ?? 0,
      memoryBytes: vm.memoryBytes ?? parseQuantity(ws?.spec.resources.memory ?? '') ?? 0,
      ...(accessed ? { accessedAt: Date.parse(accessed) } : {}),
      stoppable,
      // It may sleep to make room: it has an idle timeout (or already goes to sleep).
      sleepable:
        stoppable &&
        (!!ctx.sleepers.get(vm.name) ||
          (!!ws && ctx.sleepers.sleepable(ws) && !ctx.activity.busy(vm.name, now, 2 * ctx.sleepers.tickMs))),
    });
  }
  // A warm pool's instances hold their share too, and are nobody's to stop.
  for (const [i, r] of (ctx.runtime.reserved?.() ?? []).entries())
    out.push({ name: `(warm pool ${i + 1})`, ...r, stoppable: false });
  return out;
}
