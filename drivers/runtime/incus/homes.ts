// Homes on Incus: one custom storage volume per workspace ("<instance>-home") on the pool of
// the profile's root disk, attached as a disk at /home/dev. Custom volumes are independent of
// instances, so a home outlives stop, start, a deleted instance and a recreate from another
// image; a copy (spec.source.fromWorkspace) is Incus's own volume copy, copy-on-write on btrfs.
// Volumes carry user.tidepool.id like instances; another Tidepool's are never touched.
import { RuntimeError, type HomePlacement, type HomeVolumes } from '../types.js';
import type { Want } from './member-room.js';
import type { IncusClient } from './client.js';
import { CONFIG_ID, CONFIG_WORKSPACE } from './names.js';
import { isNotFound } from './scope.js';

/** Where the home is mounted, and who owns it there (the image's `dev` user). */
export const HOME_PATH = '/home/dev';
export const HOME_UID = 1000;

interface Volume {
  name: string;
  /** The cluster member the volume is on ("none" on a standalone Incus). */
  location?: string;
  config?: Record<string, string>;
  used_by?: string[];
}

export interface IncusHomes extends HomeVolumes {
  /** The volume name of a workspace's home. */
  volumeName(workspace: string): string;
  /** The disk device that mounts the home, for an instance's devices. */
  device(workspace: string): Promise<Record<string, string>>;
  /** The cluster member the home is on; undefined when there is no home or Incus is not clustered. */
  location(workspace: string): Promise<string | undefined>;
  /**
   * Copies the home to member `to` under the same name (its instance stopped); returns the
   * member it was on, or undefined when it is there already (or Incus is not clustered).
   */
  copyTo(workspace: string, to: string): Promise<string | undefined>;
  /** Deletes the copy of the home on `member` (once its instance uses the one elsewhere). */
  deleteOn(workspace: string, member: string): Promise<void>;
}

export interface IncusHomesOptions {
  client: IncusClient;
  tidepoolId: string;
  /** Instance name of a workspace; the volume is named after it. */
  instanceName: (workspace: string) => string;
  /** Storage pool; default: the pool of the root disk of `profile`. */
  pool?: string;
  profile: string;
  /** Appends the project (and other) query parameters. */
  q: (path: string, ...extra: string[]) => string;
  /** The member a new home goes on (placement.ts); undefined on a standalone Incus. */
  choose: (placement: string | undefined, want?: Want) => Promise<string | undefined>;
}

export function createIncusHomes(o: IncusHomesOptions): IncusHomes {
  return new IncusHomeVolumes(o);
}

class IncusHomeVolumes implements IncusHomes {
  readonly path = HOME_PATH;
  readonly #o: IncusHomesOptions;
  /** The pool's name once asked (or given); forgotten when asking failed, so the next call asks again. */
  #pool: Promise<string> | undefined;

  constructor(o: IncusHomesOptions) {
    this.#o = o;
    this.#pool = o.pool ? Promise.resolve(o.pool) : undefined;
  }

  volumeName(ws: string): string {
    return `${this.#o.instanceName(ws)}-home`;
  }

  async device(ws: string): Promise<Record<string, string>> {
    return { type: 'disk', pool: await this.#poolName(), source: this.volumeName(ws), path: HOME_PATH };
  }

  async ensure(ws: string, from?: string, where?: HomePlacement): Promise<{ created: boolean }> {
    if (await this.#getOwn(ws)) return { created: false };
    const body = from === undefined ? this.#freshVolume(ws) : await this.#copiedVolume(ws, from);
    // On a cluster the volume is made on the member its instance will be placed on: made
    // without a target it lands on whichever member took the request, and the instance's
    // create then fails elsewhere with "Storage volume not found".
    const want = where ? { cpu: where.cpu, memoryBytes: where.memoryBytes } : undefined;
    const target = await this.#o.choose(where?.placement, want);
    return this.#createVolume(ws, body, target);
  }

  async location(ws: string): Promise<string | undefined> {
    const v = await this.#getOwn(ws);
    return v?.location && v.location !== 'none' ? v.location : undefined;
  }

  async copyTo(ws: string, to: string): Promise<string | undefined> {
    const v = await this.#getOwn(ws);
    const from = v?.location;
    if (!v || !from || from === 'none' || from === to) return undefined;
    const pool = await this.#poolName();
    // The same name on the new member (a local pool keeps names per member), read from the old one.
    const { config, name } = v;
    const source = { type: 'copy', pool, name, location: from, volume_only: true };
    const body = { name, type: 'custom', content_type: 'filesystem', config, source };
    const on = `target=${encodeURIComponent(to)}`;
    await this.#o.client.call('POST', this.#o.q(await this.#volumesPath(), on), body, { waitSeconds: 600 });
    return from;
  }

  async deleteOn(ws: string, member: string): Promise<void> {
    const path = `${await this.#volumesPath()}/${encodeURIComponent(this.volumeName(ws))}`;
    const on = `target=${encodeURIComponent(member)}`;
    await this.#o.client.call('DELETE', this.#o.q(path, on), undefined, { waitSeconds: 120 });
  }

  async exists(ws: string): Promise<boolean> {
    return (await this.#getOwn(ws)) !== undefined;
  }
  /** The workspaces that have a home of this Tidepool's (by Workspace name): how orphaned homes are found. */
  async list(): Promise<string[]> {
    const all = await this.#o.client.call<Volume[]>('GET', this.#o.q(await this.#volumesPath(), 'recursion=1'));
    const names: string[] = [];
    for (const v of all ?? []) {
      const ws = v.config?.[CONFIG_ID] === this.#o.tidepoolId ? v.config?.[CONFIG_WORKSPACE] : undefined;
      if (ws) names.push(ws);
    }
    return names;
  }

  async delete(ws: string): Promise<void> {
    const v = await this.#getOwn(ws);
    if (!v) return;
    try {
      await this.#o.client.call(
        'DELETE',
        this.#o.q(`${await this.#volumesPath()}/${encodeURIComponent(v.name)}`),
        undefined,
        {
          waitSeconds: 120,
        },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** The pool of the profile's root disk: where the instances live, so copies stay cheap. */
  #poolName(): Promise<string> {
    this.#pool ??= this.#o.client
      .call<{ devices?: Record<string, Record<string, string>> }>(
        'GET',
        this.#o.q(`/1.0/profiles/${encodeURIComponent(this.#o.profile)}`),
      )
      .then((p) => {
        const root = Object.values(p.devices ?? {}).find((d) => d.type === 'disk' && d.path === '/');
        if (!root?.pool)
          throw new RuntimeError(
            `Incus profile ${this.#o.profile} has no root disk with a pool: homes need one (scripts/setup-host.sh makes it)`,
            'InvalidConfig',
          );
        return root.pool;
      })
      .catch((err: unknown) => {
        this.#pool = undefined;
        throw err;
      });
    return this.#pool;
  }

  async #volumesPath(): Promise<string> {
    return `/1.0/storage-pools/${encodeURIComponent(await this.#poolName())}/volumes/custom`;
  }

  /** The volume when it exists; throws when a volume of that name is someone else's. */
  async #getOwn(ws: string): Promise<Volume | undefined> {
    const name = this.volumeName(ws);
    let v: Volume;
    try {
      v = await this.#o.client.call<Volume>(
        'GET',
        this.#o.q(`${await this.#volumesPath()}/${encodeURIComponent(name)}`),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (v.config?.[CONFIG_ID] !== this.#o.tidepoolId) {
      throw new RuntimeError(
        `Incus storage volume ${name} is not this Tidepool's (${CONFIG_ID}=${v.config?.[CONFIG_ID] ?? 'unset'})`,
        'NameConflict',
      );
    }
    return v;
  }

  /** The request body of a new, empty home. */
  #freshVolume(ws: string): Record<string, unknown> {
    return {
      name: this.volumeName(ws),
      type: 'custom',
      content_type: 'filesystem',
      config: {
        [CONFIG_ID]: this.#o.tidepoolId,
        [CONFIG_WORKSPACE]: ws,
        // A fresh volume's root is root's; the IDE runs as dev and writes its settings there.
        'initial.uid': String(HOME_UID),
        'initial.gid': String(HOME_UID),
        'initial.mode': '0755',
      },
    };
  }

  /** The request body of a home that starts as a copy of workspace `from`'s; SourceNotFound without one. */
  async #copiedVolume(ws: string, from: string): Promise<Record<string, unknown>> {
    const src = await this.#getOwn(from).catch(() => undefined);
    if (!src)
      throw new RuntimeError(
        `workspace "${from}" has no home on this Tidepool to copy (no Incus storage volume ${this.volumeName(from)})`,
        'SourceNotFound',
        404,
      );
    // The source's volatile.idmap.* say how its files are shifted; without them the copy's
    // files would show up under the wrong owners (1001000 instead of dev) in the new instance.
    // No initial.*: Incus would chown the copy's root unshifted (nobody inside).
    const copied = Object.entries(src.config ?? {}).filter(([k]) => !k.startsWith('initial.'));
    // The source's member, so a copy onto another member reads it from there.
    const location = src.location && src.location !== 'none' ? { location: src.location } : {};
    return {
      ...this.#freshVolume(ws),
      source: { type: 'copy', pool: await this.#poolName(), name: src.name, volume_only: true, ...location },
      config: { ...Object.fromEntries(copied), [CONFIG_ID]: this.#o.tidepoolId, [CONFIG_WORKSPACE]: ws },
    };
  }

  async #createVolume(ws: string, body: Record<string, unknown>, target?: string): Promise<{ created: boolean }> {
    const on = target ? [`target=${encodeURIComponent(target)}`] : [];
    try {
      await this.#o.client.call('POST', this.#o.q(await this.#volumesPath(), ...on), body, {
        waitSeconds: 600,
        ifGone: async () => {
          if (!(await this.#getOwn(ws)))
            throw new RuntimeError(`creating the home volume ${this.volumeName(ws)} did not make it`, 'IncusError');
        },
      });
    } catch (err) {
      // Made meanwhile (another worker, a retry after a lost reply): it is there, which is what was asked.
      if (
        err instanceof RuntimeError &&
        (err.code === 409 || /already exists/i.test(err.message)) &&
        (await this.#getOwn(ws))
      )
        return { created: false };
      throw err;
    }
    return { created: true };
  }
}
