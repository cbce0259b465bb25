// Which Ports name which Workspace, kept up to date from the store's watch: a Workspace
// change enqueues its Ports, and a route `ws/port` maps back to a Port's name.
import type { Port } from '../specs/index.js';
import type { WatchEvent } from '../store/index.js';

export class PortIndex {
  readonly #byName = new Map<string, { workspace: string; port: number }>();
  readonly #byWorkspace = new Map<string, Map<number, string>>();

  constructor(ports: Iterable<Port>) {
    for (const p of ports) this.#put(p);
  }

  /** Updates the index; returns the workspace the Port named before, when it changed. */
  apply(ev: WatchEvent<Port>): string | undefined {
    const name = ev.object.metadata.name;
    const old = this.#byName.get(name);
    this.#remove(name);
    if (ev.type !== 'DELETED') this.#put(ev.object);
    return old && old.workspace !== ev.object.spec.workspace ? old.workspace : undefined;
  }

  portsOf(workspace: string): string[] {
    return [...(this.#byWorkspace.get(workspace)?.values() ?? [])];
  }

  nameOf(workspace: string, port: number): string | undefined {
    return this.#byWorkspace.get(workspace)?.get(port);
  }

  #put(p: Port): void {
    const { workspace, port } = p.spec;
    this.#byName.set(p.metadata.name, { workspace, port });
    let m = this.#byWorkspace.get(workspace);
    if (!m) this.#byWorkspace.set(workspace, (m = new Map()));
    m.set(port, p.metadata.name);
  }

  #remove(name: string): void {
    const old = this.#byName.get(name);
    if (!old) return;
    this.#byName.delete(name);
    const m = this.#byWorkspace.get(old.workspace);
    if (m?.get(old.port) === name) m.delete(old.port);
    if (m && m.size === 0) this.#byWorkspace.delete(old.workspace);
  }
}
