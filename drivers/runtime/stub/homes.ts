// Homes in memory, as Incus keeps them on volumes of their own: a home outlives its VM, can
// start as a copy of another's, and cannot be deleted while its VM exists.
import { RuntimeError, type HomeVolumes } from '../types.js';
import type { StubFaults } from './faults.js';

/** A home in memory: file path (relative to the home) → content. */
export type StubHome = Map<string, string>;

export class StubHomes implements HomeVolumes {
  readonly path = '/home/dev';
  /** The homes as they are (workspace name → files). */
  readonly files = new Map<string, StubHome>();
  readonly #faults: StubFaults;
  readonly #delay: () => Promise<void>;
  readonly #hasVM: (name: string) => boolean;

  constructor(faults: StubFaults, delay: () => Promise<void>, hasVM: (name: string) => boolean) {
    this.#faults = faults;
    this.#delay = delay;
    this.#hasVM = hasVM;
  }

  async ensure(name: string, from?: string): Promise<{ created: boolean }> {
    this.#faults.check('home', name);
    await this.#delay();
    if (this.files.has(name)) return { created: false };
    if (from === undefined) {
      this.files.set(name, new Map());
      return { created: true };
    }
    const src = this.files.get(from);
    if (!src) throw new RuntimeError(`stub: workspace "${from}" has no home to copy`, 'SourceNotFound', 404);
    this.files.set(name, new Map(src));
    return { created: true };
  }

  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }

  /** The workspaces that have a home: how orphaned homes are found. */
  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async delete(name: string): Promise<void> {
    this.#faults.check('home', name);
    await this.#delay();
    if (this.#hasVM(name)) throw new RuntimeError(`stub: the home of "${name}" is in use by its VM`, 'Conflict', 400);
    this.files.delete(name);
  }
}
