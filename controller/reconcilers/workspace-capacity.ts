// What holds capacity now, as the admission of a start sees it: every VM that runs (or is
// starting or stopping), with its share, when it was last accessed, and whether it may be
// stopped or put to sleep to make room (one with an idle timeout, and no work going on in it:
// no exec session open, no CPU or network use in the last two idle ticks); the warm pool's share too.
import { parseQuantity, type Workspace } from '../../specs/index.js';
import type { VM } from '../../drivers/runtime/types.js';
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
    out.push(new Holding(ctx, vm, now));
  }
  // A warm pool's instances hold their share too, and are nobody's to stop.
  for (const [i, r] of (ctx.runtime.reserved?.() ?? []).entries())
    out.push({ name: `(warm pool ${i + 1})`, ...r, stoppable: false });
  return out;
}

/**
 * One VM's entry. Its share is read at once; what only a refusal looks at (access, whether it
 * may stop or sleep) reads its Workspace when asked: an admission that fits, the usual case,
 * reads neither, for any of the host's VMs. (Getters on the class, not per entry: a burst of
 * creates admits hundreds of workspaces, each against every VM on the host.)
 */
class Holding implements RunningWorkspace {
  readonly name: string;
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly #ctx: Context;
  readonly #vm: VM;
  readonly #now: number;
  #ws: Workspace | undefined | null = null;

  constructor(ctx: Context, vm: VM, now: number) {
    this.#ctx = ctx;
    this.#vm = vm;
    this.#now = now;
    this.name = vm.name;
    this.cpu = vm.cpu ?? this.#workspace()?.spec.resources.cpu ?? 0;
    this.memoryBytes = vm.memoryBytes ?? parseQuantity(this.#workspace()?.spec.resources.memory ?? '') ?? 0;
  }

  #workspace(): Workspace | undefined {
    if (this.#ws === null) this.#ws = this.#ctx.store.get('Workspace', this.#vm.name);
    return this.#ws;
  }

  /** Last access as the proxy saw it; a workspace never used since it started counts from its start. */
  get accessedAt(): number | undefined {
    const ws = this.#workspace();
    const accessed = ws?.status?.lastAccessTime ?? ws?.status?.lastStartedTime ?? ws?.metadata.creationTimestamp;
    return accessed ? Date.parse(accessed) : undefined;
  }

  get stoppable(): boolean {
    const ws = this.#workspace();
    return !!ws && !ws.metadata.deletionTimestamp && ws.spec.running && this.#vm.state === 'Running';
  }

  /** It may sleep to make room: it has an idle timeout (or already goes to sleep), and no work going on. */
  get sleepable(): boolean {
    const { sleepers, activity } = this.#ctx;
    const ws = this.#workspace();
    return (
      this.stoppable &&
      (!!sleepers.get(this.name) ||
        (!!ws && sleepers.sleepable(ws) && !activity.busy(this.name, this.#now, 2 * sleepers.tickMs)))
    );
  }
}
