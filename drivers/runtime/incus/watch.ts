// Changes behind Tidepool's back, by workspace: Incus lifecycle events name instances, so the
// driver remembers which workspace each instance it listed or created belongs to, and asks
// Incus about one it has not seen. After a reconnect every remembered workspace is reported,
// since events may have been missed while the socket was down.
import { subscribeEvents, type EventsOptions } from './events.js';
import type { Instance } from './mapping.js';
import { idSuffix, plainWorkspaceOf } from './names.js';
import type { IncusScope } from './scope.js';

export type WatchOptions = Pick<EventsOptions, 'project' | 'backoffMs' | 'log'>;

export class InstanceWatch {
  readonly #scope: IncusScope;
  readonly #options: WatchOptions;
  /** Instance name → workspace name, for events. */
  readonly #known = new Map<string, string>();
  readonly #unsubscribes = new Set<() => void>();

  constructor(scope: IncusScope, options: WatchOptions) {
    this.#scope = scope;
    this.#options = options;
  }

  remember(instance: string, workspace: string): void {
    this.#known.set(instance, workspace);
  }

  forget(instance: string): void {
    this.#known.delete(instance);
  }

  subscribe(onChange: (workspace: string) => void): () => void {
    const unsubscribe = subscribeEvents(this.#scope.client, {
      ...this.#options,
      onEvent: async (instance) => {
        const ws = await this.#workspaceOf(instance);
        if (ws) onChange(ws);
      },
      onReconnect: () => {
        for (const ws of new Set(this.#known.values())) onChange(ws);
      },
    });
    this.#unsubscribes.add(unsubscribe);
    return () => {
      this.#unsubscribes.delete(unsubscribe);
      unsubscribe();
    };
  }

  close(): void {
    for (const u of this.#unsubscribes) u();
    this.#unsubscribes.clear();
  }

  /** Instance name from an event → our workspace, or undefined when not ours. */
  async #workspaceOf(instance: string): Promise<string | undefined> {
    const cached = this.#known.get(instance);
    if (cached) return cached;
    const id = this.#scope.tidepoolId;
    // Not seen yet: ours only if it carries our suffix; confirm from its config when it still exists.
    if (!instance.endsWith(`-${idSuffix(id)}`)) return undefined;
    try {
      const i = await this.#scope.client.call<Instance>('GET', this.#scope.query(this.#scope.instancePath(instance)));
      const ws = this.#scope.workspaceOf(i);
      if (ws) this.#known.set(instance, ws);
      return ws;
    } catch {
      return plainWorkspaceOf(instance, id); // gone already (deleted): the plain form is the best guess
    }
  }
}
