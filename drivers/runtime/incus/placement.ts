// Where a new workspace goes on an Incus cluster. Incus places an instance by itself (fewest
// instances first), but a workspace's home is a volume on one member's local pool and must be
// made before the instance, on the member the instance will run on. So the driver chooses the
// member once, up front, by Incus's own rule, and then names it for the home and the instance
// alike. A standalone Incus has no members: nothing is chosen and nothing is targeted.
import type { Node } from '../../../specs/node.js';
import { RuntimeError } from '../types.js';
import { formatBytes } from './mapping.js';
import { noRoom, type MemberSize, type MemberUse, type Want } from './member-room.js';
import type { IncusScope } from './scope.js';

/** A cluster member as GET /1.0/cluster/members?recursion=1 reports it. */
export interface Member {
  server_name: string;
  status: string;
  groups?: string[] | null;
  config?: Record<string, string> | null;
  description?: string;
  roles?: string[] | null;
  failure_domain?: string;
}

/**
 * Incus's own switch for "no instances unless targeted": a cordon is kept in the cluster's
 * database, seen by `incus cluster show`, and honoured by Incus's scheduler as well as ours.
 */
const SCHEDULER = 'scheduler.instance';
const isCordoned = (m: Member) => m.config?.[SCHEDULER] === 'manual';

export const nodeOf = (m: Member): Node => ({
  name: m.server_name,
  status: m.status,
  cordoned: isCordoned(m),
  groups: m.groups ?? [],
});

export class IncusPlacement {
  readonly #scope: IncusScope;
  /** Whether Incus is clustered, once asked (it does not change while Tidepool runs). */
  #clustered: boolean | undefined;
  /** The last listing and when, so that one listing of instances asks for the members once. */
  #recent: { at: number; members: Promise<Member[]> } | undefined;
  readonly #sizes = new Map<string, Promise<MemberSize>>();

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

  /** The members, or [] on a standalone Incus; `maxAgeMs` lets a listing of a moment ago do. */
  async members(maxAgeMs = 0): Promise<Member[]> {
    if (!(await this.clustered())) return [];
    if (this.#recent && Date.now() - this.#recent.at <= maxAgeMs) return this.#recent.members;
    const members = this.#scope.client.call<Member[]>('GET', '/1.0/cluster/members?recursion=1').then((m) => m ?? []);
    this.#recent = { at: Date.now(), members };
    members.catch(() => {
      this.#recent = undefined;
    });
    return members;
  }

  /** The names of the cordoned members (within a second of asking). */
  async cordoned(): Promise<Set<string>> {
    return new Set((await this.members(1000)).filter(isCordoned).map((m) => m.server_name));
  }

  /** Cordons (scheduler.instance=manual) or uncordons (all) a member. */
  async cordon(name: string, on: boolean): Promise<Node> {
    const m = (await this.members()).find((x) => x.server_name === name);
    if (!m) {
      const names =
        (await this.members(1000)).map((x) => x.server_name).join(', ') || 'none: this Incus is not a cluster';
      throw new RuntimeError(`no cluster member "${name}" (members: ${names})`, 'NotFound', 404);
    }
    const config = { ...(m.config ?? {}), [SCHEDULER]: on ? 'manual' : 'all' };
    const put = {
      description: m.description ?? '',
      roles: m.roles ?? [],
      failure_domain: m.failure_domain ?? 'default',
      groups: m.groups ?? [],
      config,
    };
    await this.#scope.client.call('PUT', `/1.0/cluster/members/${encodeURIComponent(name)}`, put);
    this.#recent = undefined;
    return nodeOf({ ...m, config });
  }

  /**
   * The member for a new workspace: `placement` names a member, or "@group" a cluster group
   * (the online member of it with the fewest instances), or nothing (any online member that is
   * not cordoned, fewest instances first). Undefined on a standalone Incus. A member that does
   * not exist, or a group without an online member, is an error saying so.
   */
  async choose(
    placement: string | undefined,
    useOf: () => Promise<Map<string, MemberUse>>,
    want?: Want,
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
      const why = want && noRoom(await this.#size(m.server_name), (await useOf()).get(m.server_name), want);
      if (why)
        throw new RuntimeError(
          `placement "${placement}": no room on cluster member ${placement} (${why})`,
          'InsufficientCapacity',
        );
      return m.server_name;
    }
    const group = placement?.slice(1);
    const fit = online.filter((m) => !isCordoned(m) && (!group || (m.groups ?? []).includes(group)));
    if (fit.length === 0)
      throw new RuntimeError(
        group
          ? `placement "@${group}": no online, uncordoned member in cluster group ${group}`
          : 'no online cluster member takes new workspaces (all offline or cordoned; `tidepool uncordon NODE`)',
        'RuntimeUnavailable',
      );
    const use = await useOf();
    const count = (m: Member) => use.get(m.server_name)?.instances ?? 0;
    fit.sort((a, b) => count(a) - count(b) || a.server_name.localeCompare(b.server_name));
    if (!want) return fit[0]!.server_name;
    const full: string[] = [];
    for (const m of fit) {
      const why = noRoom(await this.#size(m.server_name), use.get(m.server_name), want);
      if (!why) return m.server_name;
      full.push(`${m.server_name}: ${why}`);
    }
    throw new RuntimeError(
      `no cluster member${group ? ` in group ${group}` : ''} has room for ${want.cpu} vCPU and ${formatBytes(want.memoryBytes)} (${full.join('; ')})`,
      'InsufficientCapacity',
    );
  }

  /**
   * Throws when starting `want` on `member` (where a stopped workspace stays) would exceed that
   * member's room: a start is accounted where the instance is, not only in the cluster's sum.
   * `use` counts what runs there now (the instance itself is stopped, so it is not in it).
   */
  async checkRoomToStart(member: string, use: MemberUse | undefined, want: Want): Promise<void> {
    const why = noRoom(await this.#size(member), use, want);
    if (why)
      throw new RuntimeError(
        `no room on cluster member ${member}, where the workspace and its home are (${why}): stop a workspace there, or change spec.placement to move it`,
        'InsufficientCapacity',
      );
  }

  /** A member's CPUs and memory (they do not change while it runs: asked once). */
  #size(name: string): Promise<MemberSize> {
    let size = this.#sizes.get(name);
    if (!size) {
      size = this.#scope.client
        .call<{ cpu?: { total?: number }; memory?: { total?: number } }>(
          'GET',
          `/1.0/resources?target=${encodeURIComponent(name)}`,
        )
        .then((r) => ({ cpus: r?.cpu?.total ?? 1, memoryBytes: r?.memory?.total ?? 0 }));
      size.catch(() => this.#sizes.delete(name));
      this.#sizes.set(name, size);
    }
    return size;
  }
}
