// Where a new workspace goes on an Incus cluster. Incus places an instance by itself (fewest
// instances first), but a workspace's home is a volume on one member's local pool and must be
// made before the instance, on the member the instance will run on. So the driver chooses the
// member once, up front, by Incus's own rule, and then names it for the home and the instance
// alike. A standalone Incus has no members: nothing is chosen and nothing is targeted.
import { RuntimeError } from '../types.js';
import type { IncusScope } from './scope.js';

/** A cluster member as GET /1.0/cluster/members?recursion=1 reports it. */
export interface Member {
  server_name: string;
  status: string;
  groups?: string[] | null;
}

export class IncusPlacement {
  readonly #scope: IncusScope;
  /** Whether Incus is clustered, once asked (it does not change while Tidepool runs). */
  #clustered: boolean | undefined;
  /** Members that take no new workspaces (`tidepool drain`): kept by the driver, not by Incus. */
  readonly cordoned = new Set<string>();

  constructor(scope: IncusScope) {
    this.#scope = scope;
  }

  async clustered(): Promise<boolean> {
    if (this.#clustered === undefined) {
      const c = await this.#scope.client.call<{ enabled?: boolean }>('GET', '/1.0/cluster');
      this.#clustered = !!c?.enabled;
    }
    return this.#clustered;
  }

  /** The members, or [] on a standalone Incus. */
  async members(): Promise<Member[]> {
    if (!(await this.clustered())) return [];
    return (await this.#scope.client.call<Member[]>('GET', '/1.0/cluster/members?recursion=1')) ?? [];
  }

  /**
   * The member for a new workspace: `placement` names a member, or "@group" a cluster group
   * (the online member of it with the fewest instances), or nothing (any online member that is
   * not cordoned, fewest instances first). Undefined on a standalone Incus. A member that does
   * not exist, or a group without an online member, is an error saying so.
   */
  async choose(
    placement: string | undefined,
    instancesOn: () => Promise<Map<string, number>>,
  ): Promise<string | undefined> {
    const members = await this.members();
    if (members.length === 0) {
      if (placement)
        throw new RuntimeError(
          `placement "${placement}": this Incus is not a cluster; remove spec.placement (or the server's default placement)`,
          'InvalidConfig',
        );
      return undefined;
    }
    const online = members.filter((m) => m.status === 'Online');
    if (placement && !placement.startsWith('@')) {
      const m = members.find((x) => x.server_name === placement);
      if (!m)
        throw new RuntimeError(
          `placement "${placement}": no such cluster member (members: ${members.map((x) => x.server_name).join(', ')})`,
          'InvalidConfig',
        );
      if (m.status !== 'Online')
        throw new RuntimeError(
          `placement "${placement}": the member is ${m.status}; it takes no new workspaces`,
          'RuntimeUnavailable',
        );
      return m.server_name;
    }
    const group = placement?.slice(1);
    const fit = online.filter((m) => (group ? (m.groups ?? []).includes(group) : !this.cordoned.has(m.server_name)));
    if (fit.length === 0)
      throw new RuntimeError(
        group
          ? `placement "@${group}": no online member in cluster group ${group}`
          : 'no online cluster member takes new workspaces (all offline or cordoned)',
        'RuntimeUnavailable',
      );
    const load = await instancesOn();
    fit.sort(
      (a, b) =>
        (load.get(a.server_name) ?? 0) - (load.get(b.server_name) ?? 0) || a.server_name.localeCompare(b.server_name),
    );
    return fit[0]!.server_name;
  }
}
