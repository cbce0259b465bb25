// The store's field index of Ports by the workspace they name (spec.workspace), as an
// informer cache keeps field indexes: updated as each transaction commits, so it holds what
// watchers have been told. Transactions look up a Workspace's Ports through it (a big apply
// of thousands of Workspaces must not walk every Port for each), and the controller asks it
// which Ports to reconcile again when a Workspace changes.
import { keyOf, siblingKey, type Port } from '../specs/index.js';
import { isKind, type Resource } from './types.js';

export class PortIndex {
  /** Workspace key → Port key → the durable Port (keys: specs/object-key.ts). */
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

  /** The durable Ports naming the workspace of key `ws`. */
  portsOf(ws: string): Port[] {
    return [...(this.#byWorkspace.get(ws)?.values() ?? [])];
  }

  /** The keys of the durable Ports naming the workspace of key `ws`. */
  namesOf(ws: string): Iterable<string> {
    return this.#byWorkspace.get(ws)?.keys() ?? [];
  }

  #add(p: Port): void {
    const ws = workspaceOf(p);
    let m = this.#byWorkspace.get(ws);
    if (!m) this.#byWorkspace.set(ws, (m = new Map()));
    m.set(keyOf(p), p);
  }

  #remove(p: Port): void {
    const ws = workspaceOf(p);
    const m = this.#byWorkspace.get(ws);
    if (!m) return;
    m.delete(keyOf(p));
    if (!m.size) this.#byWorkspace.delete(ws);
  }
}

/** The key of the Workspace a Port names: in the Port's own namespace. */
function workspaceOf(p: Port): string {
  return siblingKey(keyOf(p), p.spec.workspace);
}
