// This Tidepool's instances, one per workspace: found, created, powered and deleted through
// the Incus API, with Incus's failures turned into the reasons the controller acts on
// (NotFound, AlreadyExists, NameConflict, ImageNotFound). An instance of another Tidepool is
// never returned, changed or removed.
import { resolveImage, type ImageMap, type IncusImage } from '../images.js';
import { RuntimeError, type CreateVMRequest, type Resources } from '../types.js';
import type { IncusHomes } from './homes.js';
import { formatBytes, instanceBody, isOfflineStub, type Instance } from './mapping.js';
import { CONFIG_BUILD, CONFIG_ID, CONFIG_IMAGE, CONFIG_WORKSPACE } from './names.js';
import { useByMember, type MemberUse, type Want } from './member-room.js';
import { isNotFound, type IncusScope } from './scope.js';

export interface InstancesSettings {
  /** Profile every instance gets (root disk + NIC on the Tidepool bridge). */
  profile: string;
  /** The member a new instance goes on, for a placement and its size (placement.ts); undefined on a standalone Incus. */
  choose: (placement: string | undefined, want?: Want) => Promise<string | undefined>;
  imageMap: ImageMap;
  /** Graceful stop timeout before forcing, seconds. */
  stopTimeoutSeconds: number;
  /** How long create (image unpack + start) may take, seconds. */
  createTimeoutSeconds: number;
  log: (msg: string) => void;
}

type PowerAction = 'start' | 'stop' | 'unfreeze';

export class IncusInstances {
  readonly #scope: IncusScope;
  readonly #homes: IncusHomes;
  readonly #s: InstancesSettings;

  constructor(scope: IncusScope, homes: IncusHomes, settings: InstancesSettings) {
    this.#scope = scope;
    this.#homes = homes;
    this.#s = settings;
  }

  /** Every instance of this Tidepool: the workspaces' (each with its workspace) and the warm pool's. */
  async list(): Promise<{ own: { instance: Instance; workspace: string }[]; warm: Instance[] }> {
    const all = await this.#scope.client.call<Instance[]>('GET', this.#scope.query('/1.0/instances', 'recursion=2'));
    const own: { instance: Instance; workspace: string }[] = [];
    const warm: Instance[] = [];
    for (const instance of all ?? []) {
      const workspace = this.#scope.workspaceOf(instance);
      this.#scope.seen(instance, !!workspace && !isOfflineStub(instance));
      if (workspace) {
        own.push({ instance, workspace });
        this.#scope.place(workspace, instance.name);
      } else if (this.#scope.isWarm(instance)) warm.push(instance);
    }
    return { own, warm };
  }

  /** The instance (config and state, one request) when it exists and is ours; undefined when missing or someone else's. */
  async find(workspace: string): Promise<Instance | undefined> {
    try {
      const path = this.#scope.query(this.#path(workspace), 'recursion=1');
      const i = await this.#scope.client.call<Instance>('GET', path);
      const ours = this.#scope.workspaceOf(i) === workspace;
      this.#scope.seen(i, ours && !isOfflineStub(i));
      return ours ? i : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      // A member that does not answer fails its instance's own GET; the listing still shows it.
      const stub = (await this.list().catch(() => undefined))?.own.find((o) => o.workspace === workspace);
      if (stub && isOfflineStub(stub.instance)) return stub.instance;
      throw err;
    }
  }

  /** The instance, or RuntimeError NotFound. */
  async get(workspace: string): Promise<Instance> {
    const i = await this.find(workspace);
    if (i) return i;
    const name = this.#scope.instanceName(workspace);
    throw new RuntimeError(`Incus instance ${name} of workspace ${workspace} not found`, 'NotFound', 404);
  }

  async create(req: CreateVMRequest): Promise<void> {
    const image: IncusImage = req.build ? { alias: req.build } : resolveImage(this.#s.imageMap, 'incus', req.image);
    const name = this.#scope.coldName(req.name);
    const body = {
      ...instanceBody({
        name,
        image,
        cpu: req.cpu,
        memoryBytes: req.memoryBytes,
        config: {
          [CONFIG_ID]: this.#scope.tidepoolId,
          [CONFIG_WORKSPACE]: req.name,
          [CONFIG_IMAGE]: req.image,
          ...(req.build ? { [CONFIG_BUILD]: req.build } : {}),
        },
        profile: this.#s.profile,
      }),
      ...(req.home ? { devices: { home: await this.#homes.device(req.name) } } : {}),
      start: req.start,
    };
    // The instance goes where its home is (made first, on the chosen member); without a home, where placement says.
    const member =
      (req.home ? await this.#homes.location(req.name) : undefined) ??
      (await this.#s.choose(req.placement, { cpu: req.cpu, memoryBytes: req.memoryBytes }));
    const target = member ? [`target=${encodeURIComponent(member)}`] : [];
    try {
      await this.#scope.client.call('POST', this.#scope.query('/1.0/instances', ...target), body, {
        waitSeconds: this.#s.createTimeoutSeconds,
        // The create's operation was reaped before we read it: only the instance says how it went.
        ifGone: async () => {
          if (!(await this.find(req.name)))
            throw new RuntimeError(`creating Incus instance ${name} did not make it`, 'OperationFailed');
        },
      });
    } catch (err) {
      // Refusals (403 and the like) are already clear; a failed create operation is not always.
      if (!(err instanceof RuntimeError) || !(err.reason === 'OperationFailed' || err.code === 400 || err.code === 409))
        throw err;
      throw await this.#explainCreateFailure(err, req.name, image);
    }
  }

  /** Each cluster member's instances (anyone's: Incus's own measure for placing) and the limits of those running. */
  async useByMember(): Promise<Map<string, MemberUse>> {
    return useByMember(
      (await this.#scope.client.call<Instance[]>('GET', this.#scope.query('/1.0/instances', 'recursion=1'))) ?? [],
    );
  }

  /**
   * Moves the workspace's instance and home to member `to`. A local custom volume cannot go
   * along with a live migration, so: stop, move the home, move the instance, start when it ran.
   * Its IP stays on the flat L2 (the host's DHCP keeps the lease by MAC); a route follows anyway.
   */
  async move(workspace: string, to: string): Promise<void> {
    const i = await this.get(workspace);
    if (i.location === to) return;
    const wasRunning = i.status === 'Running' || i.status === 'Frozen';
    await this.#stop(workspace, i, true);
    // The home first (the instance's disk device names it, and must find it on the new member),
    // then the instance; the old copy of the home goes last, once nothing uses it.
    const from = await this.#homes.copyTo(workspace, to);
    await this.#scope.client.call(
      'POST',
      this.#scope.query(this.#scope.instancePath(i.name), `target=${encodeURIComponent(to)}`),
      { name: i.name, migration: true, live: false },
      { waitSeconds: 600 },
    );
    if (from) await this.#homes.deleteOn(workspace, from);
    if (wasRunning) await this.#power(i.name, 'start', {}, 120);
  }

  async start(workspace: string): Promise<void> {
    // The usual case, an instance under its usual name that a listing or a look showed to be
    // ours (by its config): started at once, without another look (a look reads the state,
    // ~15 ms of a start's critical path). Anything else (running, frozen, a pool instance's
    // name, gone, never seen) fails that start or skips it and takes the way below.
    const name = this.#scope.instanceName(workspace);
    if (name === this.#scope.coldName(workspace) && this.#scope.isOurs(name)) {
      const started = await this.#power(name, 'start', {}, 120).then(
        () => true,
        () => false,
      );
      if (started) return;
    }
    const i = await this.#renamedWhenStopped(workspace, await this.get(workspace));
    if (i.status === 'Running') return;
    try {
      if (i.status === 'Frozen') await this.#power(i.name, 'unfreeze');
      else await this.#power(i.name, 'start', {}, 120);
    } catch (err) {
      const now = await this.find(workspace).catch(() => undefined);
      if (now?.status === 'Running') return;
      throw err;
    }
  }

  async stop(workspace: string): Promise<void> {
    const i = await this.get(workspace);
    await this.#stop(workspace, i, true);
    await this.#renamedWhenStopped(workspace, { ...i, status: 'Stopped' });
  }

  /** Deletes the workspace's instance; returns its name, or undefined when there was none. */
  async delete(workspace: string): Promise<string | undefined> {
    const i = await this.find(workspace);
    if (!i) return undefined;
    // The disk goes with it: no point in a graceful shutdown.
    await this.#stop(workspace, i, false);
    try {
      await this.#scope.client.call('DELETE', this.#scope.query(this.#scope.instancePath(i.name)), undefined, {
        waitSeconds: 120,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    this.#scope.forget(i.name);
    this.#scope.place(workspace, this.#scope.coldName(workspace));
    return i.name;
  }

  async updateResources(workspace: string, r: Resources): Promise<void> {
    const i = await this.get(workspace);
    // Containers take new limits live (cgroups); Incus refuses what it cannot do, in its own words.
    await this.#scope.client.call('PATCH', this.#scope.query(this.#scope.instancePath(i.name)), {
      config: { 'limits.cpu': String(r.cpu), 'limits.memory': formatBytes(r.memoryBytes) },
    });
  }

  /**
   * An instance taken from the warm pool keeps the pool's name while it runs (Incus renames
   * only stopped instances): once stopped, it gets the usual name. Returns the instance as renamed.
   */
  async #renamedWhenStopped(workspace: string, i: Instance): Promise<Instance> {
    const cold = this.#scope.coldName(workspace);
    if (i.status !== 'Stopped' || i.name === cold) return i;
    await this.#scope.client.call('POST', this.#scope.query(this.#scope.instancePath(i.name)), { name: cold });
    this.#scope.forget(i.name);
    this.#scope.place(workspace, cold);
    this.#s.log(`incus: instance ${i.name} of workspace ${workspace} (from the warm pool) renamed ${cold}`);
    return { ...i, name: cold };
  }

  #path(workspace: string): string {
    return this.#scope.instancePath(this.#scope.instanceName(workspace));
  }

  async #power(
    instance: string,
    action: PowerAction,
    extra: { timeout?: number; force?: boolean } = {},
    waitSeconds = 120,
  ): Promise<void> {
    const path = this.#scope.query(`${this.#scope.instancePath(instance)}/state`);
    await this.#scope.client.call('PUT', path, { action, ...extra }, { waitSeconds });
  }

  /** Stops the instance (gracefully first when asked and it runs); already stopped is fine. */
  async #stop(workspace: string, i: Instance, graceful: boolean): Promise<void> {
    if (i.status === 'Stopped') return;
    const timeout = this.#s.stopTimeoutSeconds;
    if (graceful && i.status === 'Running') {
      try {
        await this.#power(i.name, 'stop', { timeout, force: false }, timeout + 30);
        return;
      } catch (err) {
        if (!(err instanceof RuntimeError) || err.reason === 'RuntimeUnavailable') throw err;
        const now = await this.find(workspace);
        if (!now || now.status === 'Stopped') return;
        this.#s.log(`incus: graceful stop of ${i.name} failed (${err.message}); forcing`);
      }
    }
    try {
      await this.#power(i.name, 'stop', { timeout: 0, force: true }, 60);
    } catch (err) {
      // Already stopped (by someone else, or it shut down on its own) is fine.
      const now = await this.find(workspace);
      if (!now || now.status === 'Stopped') return;
      throw err;
    }
  }

  async #explainCreateFailure(err: RuntimeError, workspace: string, image: IncusImage): Promise<RuntimeError> {
    const name = this.#scope.coldName(workspace);
    // Incus reports a duplicate name as a database constraint failure: say it plainly.
    const existing = await this.#scope.client
      .call<Instance>('GET', this.#scope.query(this.#scope.instancePath(name)))
      .catch(() => undefined);
    if (existing) {
      const ours = this.#scope.workspaceOf(existing) === workspace;
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
    if (isLocalAlias(image) && (await this.#scope.aliasMissing(image.alias).catch(() => false))) {
      return new RuntimeError(
        `Incus has no image "${image.alias}" (${err.message}); build and import it with scripts/setup-host.sh`,
        'ImageNotFound',
        404,
      );
    }
    return err;
  }
}

/** An image Incus must have locally by alias: not pulled from a server, not named by fingerprint. */
export function isLocalAlias(image: IncusImage): boolean {
  return !image.server && !/^[0-9a-f]{64}$/.test(image.alias);
}
