// Homes on Incus: one custom storage volume per workspace ("<instance>-home") on the pool of
// the profile's root disk, attached as a disk at /home/dev. Custom volumes are independent of
// instances, so a home outlives stop, start, a deleted instance and a recreate from another
// image; a copy (spec.source.fromWorkspace) is Incus's own volume copy, copy-on-write on btrfs.
// Volumes carry user.tidepool.id like instances; another Tidepool's are never touched.
import { RuntimeError, type HomeVolumes } from '../types.js';
import type { IncusClient } from './client.js';
import { CONFIG_ID, CONFIG_WORKSPACE } from './names.js';

/** Where the home is mounted, and who owns it there (the image's `dev` user). */
export const HOME_PATH = '/home/dev';
export const HOME_UID = 1000;

interface Volume {
  name: string;
  config?: Record<string, string>;
  used_by?: string[];
}

export interface IncusHomes extends HomeVolumes {
  /** The volume name of a workspace's home. */
  volumeName(workspace: string): string;
  /** The disk device that mounts the home, for an instance's devices. */
  device(workspace: string): Promise<Record<string, string>>;
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
}

// A factory returning an object of short methods that share one client and the pool's
// settings: long as a whole, not in any one method.
export function createIncusHomes(o: IncusHomesOptions): IncusHomes {
  const { client, q } = o;
  let pool: Promise<string> | undefined = o.pool ? Promise.resolve(o.pool) : undefined;
  const volumeName = (ws: string) => `${o.instanceName(ws)}-home`;

  /** The pool of the profile's root disk: where the instances live, so copies stay cheap. */
  const poolName = (): Promise<string> => {
    pool ??= client
      .call<{ devices?: Record<string, Record<string, string>> }>(
        'GET',
        q(`/1.0/profiles/${encodeURIComponent(o.profile)}`),
      )
      .then((p) => {
        const root = Object.values(p.devices ?? {}).find((d) => d.type === 'disk' && d.path === '/');
        if (!root?.pool)
          throw new RuntimeError(
            `Incus profile ${o.profile} has no root disk with a pool: homes need one (scripts/setup-host.sh makes it)`,
            'InvalidConfig',
          );
        return root.pool;
      })
      .catch((err: unknown) => {
        pool = undefined;
        throw err;
      });
    return pool;
  };
  const volumes = async () => `/1.0/storage-pools/${encodeURIComponent(await poolName())}/volumes/custom`;

  /** The volume when it exists; throws when a volume of that name is someone else's. */
  async function getOwn(ws: string): Promise<Volume | undefined> {
    const name = volumeName(ws);
    let v: Volume;
    try {
      v = await client.call<Volume>('GET', q(`${await volumes()}/${encodeURIComponent(name)}`));
    } catch (err) {
      if (err instanceof RuntimeError && err.code === 404) return undefined;
      throw err;
    }
    if (v.config?.[CONFIG_ID] !== o.tidepoolId) {
      throw new RuntimeError(
        `Incus storage volume ${name} is not this Tidepool's (${CONFIG_ID}=${v.config?.[CONFIG_ID] ?? 'unset'})`,
        'NameConflict',
      );
    }
    return v;
  }

  const config = (ws: string) => ({
    [CONFIG_ID]: o.tidepoolId,
    [CONFIG_WORKSPACE]: ws,
    // A fresh volume's root is root's; the IDE runs as dev and writes its settings there.
    'initial.uid': String(HOME_UID),
    'initial.gid': String(HOME_UID),
    'initial.mode': '0755',
  });

  return {
    path: HOME_PATH,
    volumeName,

    async device(ws) {
      return { type: 'disk', pool: await poolName(), source: volumeName(ws), path: HOME_PATH };
    },

    async ensure(ws, from) {
      if (await getOwn(ws)) return { created: false };
      const body: Record<string, unknown> = {
        name: volumeName(ws),
        type: 'custom',
        content_type: 'filesystem',
        config: config(ws),
      };
      if (from !== undefined) {
        const src = await getOwn(from).catch(() => undefined);
        if (!src)
          throw new RuntimeError(
            `workspace "${from}" has no home on this Tidepool to copy (no Incus storage volume ${volumeName(from)})`,
            'SourceNotFound',
            404,
          );
        body.source = { type: 'copy', pool: await poolName(), name: src.name, volume_only: true };
        // The source's volatile.idmap.* say how its files are shifted; without them the copy's
        // files would show up under the wrong owners (1001000 instead of dev) in the new instance.
        // No initial.*: Incus would chown the copy's root unshifted (nobody inside).
        const copied = Object.entries(src.config ?? {}).filter(([k]) => !k.startsWith('initial.'));
        body.config = { ...Object.fromEntries(copied), [CONFIG_ID]: o.tidepoolId, [CONFIG_WORKSPACE]: ws };
      }
      try {
        await client.call('POST', q(await volumes()), body, {
          waitSeconds: 600,
          ifGone: async () => {
            if (!(await getOwn(ws)))
              throw new RuntimeError(`creating the home volume ${volumeName(ws)} did not make it`, 'IncusError');
          },
        });
      } catch (err) {
        // Made meanwhile (another worker, a retry after a lost reply): it is there, which is what was asked.
        if (
          err instanceof RuntimeError &&
          (err.code === 409 || /already exists/i.test(err.message)) &&
          (await getOwn(ws))
        )
          return { created: false };
        throw err;
      }
      return { created: true };
    },

    async exists(ws) {
      return (await getOwn(ws)) !== undefined;
    },

    async list() {
      const all = await client.call<Volume[]>('GET', q(await volumes(), 'recursion=1'));
      return (all ?? [])
        .filter((v) => v.config?.[CONFIG_ID] === o.tidepoolId && v.config?.[CONFIG_WORKSPACE])
        .map((v) => v.config![CONFIG_WORKSPACE]!);
    },

    async delete(ws) {
      const v = await getOwn(ws);
      if (!v) return;
      try {
        await client.call('DELETE', q(`${await volumes()}/${encodeURIComponent(v.name)}`), undefined, {
          waitSeconds: 120,
        });
      } catch (err) {
        if (err instanceof RuntimeError && err.code === 404) return;
        throw err;
      }
    },
  };
}
