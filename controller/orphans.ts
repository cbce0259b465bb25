// Orphans: an instance or home carrying this Tidepool's id that no Workspace declares. A
// missing Workspace is no proof that its home is unwanted: the store may have been restored
// from an old backup or lost objects to a damage, and a home holds a person's work. So an
// orphan is stopped (it holds no capacity and serves nothing), kept, reported by an Event
// (again every REPORT_EVERY_MS while it stays, so the report never expires), listed by the API,
// and deleted only when a person asks, on the workspace's own key in the work queue (never
// beside a reconcile of a Workspace of that name). A Workspace of that name adopts it again.
// Only a Workspace deleted through the API or a sync prune deletes a home (workspace-delete.ts).
import type { Orphan, OrphanService } from '../specs/index.js';
import { conflict, notFound, unavailable, type StoreClient } from '../store/index.js';
import type { RuntimeDriver, VM } from '../drivers/runtime/types.js';
import { workspaceKey } from './keys.js';
import type { Clock, RateLimitingQueue } from './queue/index.js';
import type { Context } from './reconcilers/context.js';
import type { Result } from './reconcile.js';
import { errorMessage } from '../specs/errors.js';

/** Events expire after an hour: an orphan still there is reported again before that. */
const REPORT_EVERY_MS = 30 * 60_000;

interface PendingDelete {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Orphans implements OrphanService {
  readonly #reportedAt = new Map<string, number>();
  readonly #deletes = new Map<string, PendingDelete>();

  constructor(
    private readonly store: StoreClient,
    private readonly runtime: RuntimeDriver,
    private readonly queue: RateLimitingQueue,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<Orphan[]> {
    const [vms, homes] = await Promise.all([this.runtime.list(), this.runtime.homes?.list?.() ?? []]);
    const byName = new Map<string, Orphan>();
    const entry = (name: string): Orphan => {
      let o = byName.get(name);
      if (!o) byName.set(name, (o = { name, instance: this.runtime.instanceName?.(name) ?? name, home: false }));
      return o;
    };
    for (const vm of vms) if (!this.store.get('Workspace', vm.name)) entry(vm.name).state = vm.state;
    for (const name of homes) if (!this.store.get('Workspace', name)) entry(name).home = true;
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Asks the workspace's reconcile to delete it, and waits for that reconcile to do it. */
  async delete(name: string): Promise<Orphan> {
    if (this.store.get('Workspace', name))
      throw conflict(
        'orphans',
        name,
        'a Workspace of that name exists: it is not an orphan (delete the Workspace instead)',
      );
    const found = (await this.list()).find((o) => o.name === name);
    if (!found) throw notFound('orphans', name);
    if (this.#deletes.has(name)) throw conflict('orphans', name, 'it is being deleted already');
    return new Promise<Orphan>((resolve, reject) => {
      this.#deletes.set(name, { resolve: () => resolve(found), reject });
      this.queue.add(workspaceKey(name));
    });
  }

  /** The workspace reconcile of a name no Workspace declares: delete when asked, else stop, keep and report. */
  async reconcile(ctx: Context, name: string, vm: VM | undefined): Promise<Result> {
    const asked = this.#deletes.get(name);
    if (asked) {
      this.#deletes.delete(name);
      try {
        await ctx.runtime.delete(name);
        ctx.vms.patch(name, null);
        await ctx.runtime.homes?.delete(name);
      } catch (err) {
        asked.reject(err as Error);
        return {};
      }
      this.#reportedAt.delete(name);
      ctx.events.record(
        { kind: 'Workspace', name },
        'Normal',
        'OrphanDeleted',
        `Deleted the orphan ${this.#what(vm !== undefined, ctx.runtime.homes !== undefined)} of "${name}", as asked.`,
      );
      asked.resolve();
      return {};
    }
    const home = ctx.runtime.homes !== undefined && (await ctx.runtime.homes.exists(name));
    if (!vm && !home) {
      this.#reportedAt.delete(name);
      return {};
    }
    if (vm && (vm.state === 'Running' || vm.state === 'Starting')) {
      try {
        await ctx.runtime.stop(name);
        ctx.vms.markDirty(name);
      } catch (err) {
        ctx.logger.warn({ workspace: name, err: errorMessage(err) }, 'could not stop an orphan; retrying');
        throw err;
      }
    }
    const last = this.#reportedAt.get(name);
    if (last === undefined || this.clock.now() - last >= REPORT_EVERY_MS) {
      this.#reportedAt.set(name, this.clock.now());
      ctx.events.record(
        { kind: 'Workspace', name },
        'Warning',
        'OrphanKept',
        `No Workspace declares "${name}", but this Tidepool's ${this.#what(vm !== undefined, home)} of it ${vm && home ? 'are' : 'is'} still there (${ctx.runtime.instanceName?.(name) ?? name}): ${vm ? 'stopped and ' : ''}kept. ` +
          `Apply a Workspace named "${name}" to adopt it again, or delete it with \`tidepool orphans delete ${name}\`.`,
      );
    }
    return {};
  }

  /** A Workspace of that name exists (again): a delete asked for meanwhile is refused, it adopts the orphan. */
  declared(name: string): void {
    this.#reportedAt.delete(name);
    const asked = this.#deletes.get(name);
    if (!asked) return;
    this.#deletes.delete(name);
    asked.reject(
      conflict('orphans', name, 'a Workspace of that name was created meanwhile and adopts it; nothing was deleted'),
    );
  }

  /** The controller stops: deletes not done yet are answered (nothing was deleted). */
  close(): void {
    for (const [name, asked] of this.#deletes)
      asked.reject(
        unavailable(`the controller stopped before orphan "${name}" was deleted; nothing was deleted, try again`),
      );
    this.#deletes.clear();
  }

  #what(vm: boolean, home: boolean): string {
    return vm && home ? 'instance and home' : vm ? 'instance' : 'home';
  }
}
