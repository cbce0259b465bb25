// The store's field index of Ports by the workspace they name (spec.workspace), as an
// informer cache keeps field indexes: updated as each transaction commits, so it holds what
// watchers have been told. Transactions look up a Workspace's Ports through it (a big apply
// of thousands of Workspaces must not walk every Port for each), and the controller asks it
// which Ports to reconcile again when a Workspace changes.
import type { Port } from '../specs/index.js';
import { isKind, type Resource } from './types.js';

export class PortIndex {
  /** Workspace name → Port name → the durable Port. */
  readonly #byWorkspace = new Map<string, Map<string, Port>>();

  /** `objects`: the durable objects of kind Port. */
  constructor(objects: Iterable<Resource>) {
    for (const o of objects) this.update(undefined, o);
  }

  /** A committed change of a Port: `before` is what was durable, `after` what is now (none: removed). */
  update(before: Resource | undefined, after: Resource | null): void {
    if (before && isKind(before, 'Port')) this.#remove(before);
    if (after && isKind(after, 'Port')) this.#add(after);
  }

  /** The durable Ports naming workspace `ws`. */
  portsOf(ws: string): Port[] {
    return [...(this.#byWorkspace.get(ws)?.values() ?? [])];
  }

  /** The names of the durable Ports naming workspace `ws`. */
  namesOf(ws: string): Iterable<string> {
    return this.#byWorkspace.get(ws)?.keys() ?? [];
  }

  #add(p: Port): void {
    let m = this.#byWorkspace.get(p.spec.workspace);
    if (!m) this.#byWorkspace.set(p.spec.workspace, (m = new Map()));
    m.set(p.metadata.name, p);
  }

  #remove(p: Port): void {
    const m = this.#byWorkspace.get(p.spec.workspace);
    if (!m) return;
    m.delete(p.metadata.name);
    if (!m.size) this.#byWorkspace.delete(p.spec.workspace);
  }
}
