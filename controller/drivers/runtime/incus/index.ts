// The Incus runtime driver: Workspaces as Incus system containers (or VMs), through the REST
// API on the local unix socket or on a remote HTTPS endpoint (an Incus cluster places the
// instances itself). Only instances marked with this Tidepool's id are ever listed or touched.
import { defaultImageMap, resolveImage, type ImageMap, type IncusImage } from '../images.js';
import {
  RuntimeError,
  type CreateVMRequest,
  type ExecRequest,
  type Resources,
  type RuntimeDriver,
  type VM,
} from '../types.js';
import { IncusClient, type IncusConnection } from './client.js';
import { subscribeEvents, type EventsOptions } from './events.js';
import { execIn } from './exec.js';
import { incusExec } from './exec-session.js';
import { createIncusHomes, type IncusHomes } from './homes.js';
import { formatBytes, sourceOf, vmOf, type Instance } from './mapping.js';
import { CONFIG_ID, CONFIG_IMAGE, CONFIG_WORKSPACE, idSuffix, instanceName, plainWorkspaceOf } from './names.js';

export { DEFAULT_INCUS_SOCKET, IncusClient, type IncusConnection } from './client.js';
export { CONFIG_ID, CONFIG_IMAGE, CONFIG_WORKSPACE, idSuffix, instanceName } from './names.js';
export { formatBytes, parseBytes, vmOf } from './mapping.js';

export interface IncusRuntimeOptions extends IncusConnection {
  /** This Tidepool's id: every instance it creates carries user.tidepool.id=<id>; list() returns only those. */
  tidepoolId: string;
  /** Profile every instance gets (root disk + NIC on the Tidepool bridge); default 'tidepool'. */
  profile?: string;
  /** Storage pool of the homes; default: the pool of the profile's root disk. */
  homePool?: string;
  /** Incus project; default: the server's default project. */
  project?: string;
  /** Cluster member to place new instances on; default: Incus chooses. */
  target?: string;
  /** Template name → image; default the one map in ../images.ts. Instance type comes from the image entry. */
  imageMap?: ImageMap;
  /** Graceful stop timeout before forcing, seconds (default 30). */
  stopTimeoutSeconds?: number;
  /** How long create (image unpack + start) may take, seconds (default 600). */
  createTimeoutSeconds?: number;
  /** Reconnect backoff of the events websocket, ms (default 250 → 10 000). */
  eventsBackoffMs?: EventsOptions['backoffMs'];
  /** Diagnostics (websocket drops and reconnects); default silent. */
  log?: (msg: string) => void;
}

export interface IncusRuntime extends RuntimeDriver {
  readonly client: IncusClient;
  readonly homes: IncusHomes;
  /** The Incus instance name of a workspace (for logs and tests). */
  instanceName(workspace: string): string;
}

// A factory returning the driver as an object of short methods over one client, its event
// stream and the instance naming; long as a whole (and so is this file, over 300 lines),
// not in any one method. Instance naming is apart (names.ts).
export function createIncusRuntime(opts: IncusRuntimeOptions): IncusRuntime {
  if (!opts.tidepoolId) throw new RuntimeError('createIncusRuntime: tidepoolId is required', 'InvalidConfig');
  const id = opts.tidepoolId;
  const client = new IncusClient(opts);
  const profile = opts.profile ?? 'tidepool';
  const imageMap = opts.imageMap ?? defaultImageMap;
  const stopTimeout = opts.stopTimeoutSeconds ?? 30;
  const createTimeout = opts.createTimeoutSeconds ?? 600;
  const log = opts.log ?? (() => undefined);
  const project = opts.project ? `project=${encodeURIComponent(opts.project)}` : '';
  const q = (path: string, ...extra: string[]) => {
    const params = [project, ...extra].filter(Boolean).join('&');
    return params ? `${path}${path.includes('?') ? '&' : '?'}${params}` : path;
  };
  const inst = (name: string) => `/1.0/instances/${encodeURIComponent(name)}`;
  const nameOf = (ws: string) => instanceName(ws, id);

  /** Instance name → workspace name, for events; filled by list(), create() and lookups. */
  const known = new Map<string, string>();
  const unsubscribes = new Set<() => void>();
  const homes = createIncusHomes({
    client,
    tidepoolId: id,
    instanceName: nameOf,
    profile,
    q,
    ...(opts.homePool ? { pool: opts.homePool } : {}),
  });

  function workspaceOf(i: Instance): string | undefined {
    const cfg = i.config ?? {};
    if (cfg[CONFIG_ID] !== id) return undefined;
    return cfg[CONFIG_WORKSPACE] || plainWorkspaceOf(i.name, id);
  }

  /** The instance when it exists and is ours; undefined when missing or someone else's. */
  async function getOwn(workspace: string): Promise<Instance | undefined> {
    try {
      const i = await client.call<Instance>('GET', q(inst(nameOf(workspace)), 'recursion=1'));
      if (workspaceOf(i) !== workspace) return undefined;
      return i;
    } catch (err) {
      if (err instanceof RuntimeError && err.code === 404) return undefined;
      throw err;
    }
  }

  async function setState(
    name: string,
    action: 'start' | 'stop' | 'unfreeze',
    extra: { timeout?: number; force?: boolean } = {},
    waitSeconds = 120,
  ): Promise<void> {
    await client.call('PUT', q(`${inst(name)}/state`), { action, ...extra }, { waitSeconds });
  }

  const notFound = (workspace: string) =>
    new RuntimeError(`Incus instance ${nameOf(workspace)} of workspace ${workspace} not found`, 'NotFound', 404);

  async function stopInstance(workspace: string, i: Instance, graceful: boolean): Promise<void> {
    const name = i.name;
    if (i.status === 'Stopped') return;
    if (graceful && i.status === 'Running') {
      try {
        await setState(name, 'stop', { timeout: stopTimeout, force: false }, stopTimeout + 30);
        return;
      } catch (err) {
        if (!(err instanceof RuntimeError) || err.reason === 'RuntimeUnavailable') throw err;
        const now = await getOwn(workspace);
        if (!now || now.status === 'Stopped') return;
        log(`incus: graceful stop of ${name} failed (${err.message}); forcing`);
      }
    }
    try {
      await setState(name, 'stop', { timeout: 0, force: true }, 60);
    } catch (err) {
      // Already stopped (by someone else, or it shut down on its own) is fine.
      const now = await getOwn(workspace);
      if (!now || now.status === 'Stopped') return;
      throw err;
    }
  }

  return {
    name: 'incus',
    client,
    instanceName: nameOf,
    homes,

    async checkImage(template: string) {
      const image = resolveImage(imageMap, 'incus', template);
      if (image.server || /^[0-9a-f]{64}$/.test(image.alias)) return;
      await client
        .call('GET', `/1.0/images/aliases/${encodeURIComponent(image.alias)}${project ? `?${project}` : ''}`)
        .catch((err: unknown) => {
          if (err instanceof RuntimeError && err.code === 404) {
            throw new RuntimeError(
              `Incus has no image "${image.alias}" (image template "${template}"); build and import it with scripts/setup-host.sh`,
              'ImageNotFound',
              404,
            );
          }
          throw err;
        });
    },

    async updateResources(workspace: string, r: Resources) {
      const i = await getOwn(workspace);
      if (!i) throw notFound(workspace);
      // Containers take new limits live (cgroups); Incus refuses what it cannot do, in its own words.
      await client.call('PATCH', q(inst(i.name)), {
        config: { 'limits.cpu': String(r.cpu), 'limits.memory': formatBytes(r.memoryBytes) },
      });
      return 'now' as const;
    },

    async exec(workspace, argv, execOpts) {
      return execIn(client, inst(nameOf(workspace)), (p) => q(p), argv, execOpts);
    },

    async list() {
      const all = await client.call<Instance[]>('GET', q('/1.0/instances', 'recursion=2'));
      const vms: VM[] = [];
      for (const i of all ?? []) {
        const ws = workspaceOf(i);
        if (!ws) continue;
        known.set(i.name, ws);
        vms.push(vmOf(i, ws));
      }
      return vms;
    },

    async create(req: CreateVMRequest) {
      const image = resolveImage(imageMap, 'incus', req.image);
      const name = nameOf(req.name);
      const body = {
        name,
        type: image.type ?? 'container',
        source: sourceOf(image),
        config: {
          'limits.cpu': String(req.cpu),
          'limits.memory': formatBytes(req.memoryBytes),
          [CONFIG_ID]: id,
          [CONFIG_WORKSPACE]: req.name,
          [CONFIG_IMAGE]: req.image,
        },
        profiles: [profile],
        ...(req.home ? { devices: { home: await homes.device(req.name) } } : {}),
        start: req.start,
      };
      known.set(name, req.name);
      const path = q('/1.0/instances', ...(opts.target ? [`target=${encodeURIComponent(opts.target)}`] : []));
      try {
        await client.call('POST', path, body, {
          waitSeconds: createTimeout,
          // The create's operation was reaped before we read it: only the instance says how it went.
          ifGone: async () => {
            if (!(await getOwn(req.name)))
              throw new RuntimeError(`creating Incus instance ${name} did not make it`, 'OperationFailed');
          },
        });
      } catch (err) {
        // Refusals (403 and the like) are already clear; a failed create operation is not always.
        if (
          !(err instanceof RuntimeError) ||
          !(err.reason === 'OperationFailed' || err.code === 400 || err.code === 409)
        )
          throw err;
        throw await explainCreateFailure(err, req.name, name, image);
      }
    },

    async start(workspace: string) {
      const i = await getOwn(workspace);
      if (!i) throw notFound(workspace);
      if (i.status === 'Running') return;
      try {
        if (i.status === 'Frozen') await setState(i.name, 'unfreeze');
        else await setState(i.name, 'start', {}, 120);
      } catch (err) {
        const now = await getOwn(workspace).catch(() => undefined);
        if (now?.status === 'Running') return;
        throw err;
      }
    },

    async stop(workspace: string) {
      const i = await getOwn(workspace);
      if (!i) throw notFound(workspace);
      await stopInstance(workspace, i, true);
    },

    async openExec(workspace: string, req: ExecRequest) {
      const i = await getOwn(workspace);
      if (!i) throw notFound(workspace);
      if (i.status !== 'Running')
        throw new RuntimeError(
          `workspace ${workspace} is not running (instance ${i.name} is ${i.status ?? 'unknown'})`,
          'NotRunning',
        );
      return incusExec(client, q(`${inst(i.name)}/exec`), req);
    },

    // The home volume is detached with the instance and kept: it goes only with homes.delete.
    async delete(workspace: string) {
      const i = await getOwn(workspace);
      if (!i) return;
      // The disk goes with it: no point in a graceful shutdown.
      await stopInstance(workspace, i, false);
      try {
        await client.call('DELETE', q(inst(i.name)), undefined, { waitSeconds: 120 });
      } catch (err) {
        if (err instanceof RuntimeError && err.code === 404) return;
        throw err;
      }
      known.delete(i.name);
    },

    subscribe(onChange: (name: string) => void) {
      const unsubscribe = subscribeEvents(client, {
        project: opts.project,
        backoffMs: opts.eventsBackoffMs,
        log,
        onEvent: async (instance) => {
          const ws = await resolveWorkspace(instance);
          if (ws) onChange(ws);
        },
        onReconnect: () => {
          // Events may have been missed while the socket was down: report every workspace we know.
          for (const ws of new Set(known.values())) onChange(ws);
        },
      });
      unsubscribes.add(unsubscribe);
      return () => {
        unsubscribes.delete(unsubscribe);
        unsubscribe();
      };
    },

    async close() {
      for (const u of unsubscribes) u();
      unsubscribes.clear();
      await client.close();
    },
  };

  /** Instance name from an event → our workspace, or undefined when not ours. */
  async function resolveWorkspace(instance: string): Promise<string | undefined> {
    const cached = known.get(instance);
    if (cached) return cached;
    // Not seen yet: ours only if it carries our suffix; confirm from its config when it still exists.
    if (!instance.endsWith(`-${idSuffix(id)}`)) return undefined;
    const plain = plainWorkspaceOf(instance, id);
    try {
      const i = await client.call<Instance>('GET', q(inst(instance)));
      const ws = workspaceOf(i);
      if (ws) known.set(instance, ws);
      return ws;
    } catch {
      return plain; // gone already (deleted): the plain form is the best guess
    }
  }

  async function explainCreateFailure(
    err: RuntimeError,
    workspace: string,
    name: string,
    image: IncusImage,
  ): Promise<RuntimeError> {
    // Incus reports a duplicate name as a database constraint failure: say it plainly.
    const existing = await client.call<Instance>('GET', q(inst(name))).catch(() => undefined);
    if (existing) {
      const ours = workspaceOf(existing) === workspace;
      return new RuntimeError(
        ours
          ? `Incus instance ${name} of workspace ${workspace} already exists`
          : `Incus instance name ${name} is taken by an instance that is not this Tidepool's (${CONFIG_ID}=${existing.config?.[CONFIG_ID] ?? 'unset'})`,
        ours ? 'AlreadyExists' : 'NameConflict',
        // No 409 for NameConflict: the controller reads 409 as "it exists now, list again", which
        // would never show someone else's instance; this must surface and back off instead.
        ours ? 409 : undefined,
      );
    }
    if (!image.server) {
      const missing = await client
        .call('GET', `/1.0/images/aliases/${encodeURIComponent(image.alias)}${project ? `?${project}` : ''}`)
        .then(
          () => false,
          (e: unknown) => e instanceof RuntimeError && e.code === 404,
        );
      if (missing && !/^[0-9a-f]{64}$/.test(image.alias)) {
        return new RuntimeError(
          `Incus has no image "${image.alias}" (${err.message}); build and import it with scripts/setup-host.sh`,
          'ImageNotFound',
          404,
        );
      }
    }
    return err;
  }
}
