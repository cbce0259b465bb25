// The Incus runtime driver: Workspaces as Incus system containers (or VMs), through the REST
// API on the local unix socket or on a remote HTTPS endpoint (any member of an Incus cluster:
// placement.ts chooses the member up front so that a home is made beside its instance). Only
// instances marked with this Tidepool's id are ever listed or touched.
//
// The parts, by job: scope.ts (the project and what is ours), instances.ts (find, create,
// power, move, delete), homes.ts (the home volumes), placement.ts and member-room.ts (which
// member, cordons), exec.ts and exec-session.ts (commands inside),
// watch.ts and events.ts (changes behind our back), mapping.ts (an instance as a VM, no I/O).
// This file maps the RuntimeDriver contract onto them.
import type { Node } from '../../../specs/node.js';
import { defaultImageMap, resolveImage, type ImageMap } from '../images.js';
import {
  RuntimeError,
  type BuildImageRequest,
  type BuildReport,
  type CreateVMRequest,
  type ExecOptions,
  type ExecRequest,
  type ExecResult,
  type ExecSession,
  type Resources,
  type RuntimeDriver,
  type VM,
  type VMUsage,
} from '../types.js';
import { IncusImageBuilder } from './build.js';
import { IncusClient, type IncusConnection } from './client.js';
import type { EventsOptions } from './events.js';
import { incusExec } from './exec-session.js';
import { createIncusHomes, type IncusHomes } from './homes.js';
import { IncusInstances, isLocalAlias } from './instances.js';
import { vmOf } from './mapping.js';
import type { Want } from './member-room.js';
import { IncusPlacement, nodeOf } from './placement.js';
import { IncusScope } from './scope.js';
import { WarmPool } from './warm.js';
import { IncusUsage } from './usage.js';
import { InstanceWatch } from './watch.js';

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
  /**
   * On a cluster, where workspaces without spec.placement go: a member or "@group"; default the
   * least busy online, uncordoned member with room (placement.ts).
   */
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
  /** Warm pool: instances kept started (IDE not yet running) per image template; default none (warm.ts). */
  warmPool?: Record<string, number>;
  /**
   * The host's CA bundle, handed to npm inside ImageTemplate builds for the build only (a
   * TLS-intercepting proxy's CA); default /etc/ssl/certs/ca-certificates.crt where it exists.
   */
  buildCaFile?: string;
}

export interface IncusRuntime extends RuntimeDriver {
  readonly client: IncusClient;
  readonly homes: IncusHomes;
  get(workspace: string): Promise<VM | undefined>;
  /** The Incus instance name of a workspace (for logs and tests). */
  instanceName(workspace: string): string;
  /** Moves a workspace and its home to cluster member `node` (default: where a new one would go). */
  move(workspace: string, node?: string): Promise<void>;
  nodes(): Promise<Node[]>;
  /** Keeps new workspaces off `node` (on) or lets them back (off); placement naming it still wins. */
  cordon(node: string, on: boolean): Promise<Node>;
}

export function createIncusRuntime(opts: IncusRuntimeOptions): IncusRuntime {
  if (!opts.tidepoolId) throw new RuntimeError('createIncusRuntime: tidepoolId is required', 'InvalidConfig');
  return new IncusDriver(opts);
}

class IncusDriver implements IncusRuntime {
  readonly name = 'incus';
  readonly client: IncusClient;
  readonly homes: IncusHomes;
  readonly #scope: IncusScope;
  readonly #imageMap: ImageMap;
  readonly #instances: IncusInstances;
  readonly #watch: InstanceWatch;
  readonly #pool: WarmPool | undefined;
  readonly #usage: IncusUsage;
  readonly #builder: IncusImageBuilder;
  readonly #placement: IncusPlacement;
  readonly #choose: (placement: string | undefined, want?: Want) => Promise<string | undefined>;

  constructor(opts: IncusRuntimeOptions) {
    this.client = new IncusClient(opts);
    const scope = new IncusScope(this.client, opts.tidepoolId, opts.project);
    const profile = opts.profile ?? 'tidepool';
    const log = opts.log ?? (() => undefined);
    this.#scope = scope;
    this.#imageMap = opts.imageMap ?? defaultImageMap;
    const placement = new IncusPlacement(scope);
    this.#placement = placement;
    const choose = (p: string | undefined, want?: Want) =>
      placement.choose(p ?? opts.target, () => this.#instances.useByMember(), want);
    this.#choose = choose;
    this.homes = createIncusHomes({
      client: this.client,
      tidepoolId: opts.tidepoolId,
      // Named after the usual instance name, whatever instance the workspace has now.
      instanceName: (ws) => scope.coldName(ws),
      profile,
      q: (path, ...extra) => scope.query(path, ...extra),
      choose,
      ...(opts.homePool ? { pool: opts.homePool } : {}),
    });
    this.#instances = new IncusInstances(scope, this.homes, {
      profile,
      choose,
      imageMap: this.#imageMap,
      stopTimeoutSeconds: opts.stopTimeoutSeconds ?? 30,
      createTimeoutSeconds: opts.createTimeoutSeconds ?? 600,
      log,
    });
    this.#usage = new IncusUsage(scope, this.homes);
    const caFile = opts.buildCaFile ?? '/etc/ssl/certs/ca-certificates.crt';
    this.#builder = new IncusImageBuilder(scope, { profile, imageMap: this.#imageMap, caFile, log });
    this.#watch = new InstanceWatch(scope, { project: opts.project, backoffMs: opts.eventsBackoffMs, log });
    const sizes = Object.fromEntries(Object.entries(opts.warmPool ?? {}).filter(([, n]) => n > 0));
    if (Object.keys(sizes).length) {
      const imageMap = this.#imageMap;
      this.#pool = new WarmPool(scope, this.homes, { sizes, profile, imageMap, log });
    }
  }

  instanceName(workspace: string): string {
    return this.#scope.instanceName(workspace);
  }

  buildImage(req: BuildImageRequest, report: BuildReport): Promise<void> {
    return this.#builder.build(req, report);
  }

  deleteImage(image: string): Promise<void> {
    return this.#builder.delete(image);
  }

  hasImage(image: string): Promise<boolean> {
    return this.#builder.has(image);
  }

  async checkImage(template: string): Promise<void> {
    const image = resolveImage(this.#imageMap, 'incus', template);
    if (!isLocalAlias(image) || !(await this.#scope.aliasMissing(image.alias))) return;
    throw new RuntimeError(
      `Incus has no image "${image.alias}" (image template "${template}"); build and import it with scripts/setup-host.sh`,
      'ImageNotFound',
      404,
    );
  }

  async list(): Promise<VM[]> {
    const vms: VM[] = [];
    const { own, warm } = await this.#instances.list();
    for (const { instance, workspace } of own) {
      this.#watch.remember(instance.name, workspace);
      vms.push(await this.#marked(vmOf(instance, workspace)));
    }
    this.#pool?.observe(warm);
    return vms;
  }

  reserved(): Resources[] {
    return this.#pool?.reserved() ?? [];
  }

  // GET /1.0/instances/NAME?recursion=1: this instance's config and state in one request.
  async get(workspace: string): Promise<VM | undefined> {
    const instance = await this.#instances.find(workspace);
    if (!instance) return undefined;
    this.#watch.remember(instance.name, workspace);
    return this.#marked(vmOf(instance, workspace));
  }

  async create(req: CreateVMRequest): Promise<undefined> {
    // Not on a cluster: a warm instance sits on whatever member it was made on, and the home
    // (made first, where the workspace is placed) may be on another.
    const warmOk = this.#pool && req.start && !req.build && !(await this.#placement.clustered());
    const taken = warmOk ? await this.#pool?.take(req) : undefined;
    if (taken) {
      this.#scope.place(req.name, taken);
      this.#watch.remember(taken, req.name);
      return undefined;
    }
    this.#watch.remember(this.#scope.coldName(req.name), req.name);
    await this.#instances.create(req);
    return undefined;
  }

  async start(workspace: string): Promise<void> {
    if (await this.#placement.clustered()) {
      const vm = vmOf(await this.#instances.get(workspace), workspace);
      if (vm.node && vm.state !== 'Running') {
        const use = (await this.#instances.useByMember()).get(vm.node);
        await this.#placement.checkRoomToStart(vm.node, use, { cpu: vm.cpu ?? 1, memoryBytes: vm.memoryBytes ?? 0 });
      }
    }
    await this.#instances.start(workspace);
  }

  async stop(workspace: string): Promise<void> {
    await this.#instances.stop(workspace);
  }

  async move(workspace: string, node?: string): Promise<void> {
    let to = node;
    if (!to) {
      const vm = vmOf(await this.#instances.get(workspace), workspace);
      to = await this.#choose(undefined, { cpu: vm.cpu ?? 1, memoryBytes: vm.memoryBytes ?? 0 });
    }
    if (!to)
      throw new RuntimeError('this Incus is not a cluster: there is no other member to move to', 'InvalidConfig');
    await this.#instances.move(workspace, to);
  }

  async nodes(): Promise<Node[]> {
    return (await this.#placement.members()).map(nodeOf);
  }

  cordon(node: string, on: boolean): Promise<Node> {
    return this.#placement.cordon(node, on);
  }

  /** The VM, marked when its member is cordoned (a drain moves it). */
  async #marked(vm: VM): Promise<VM> {
    if (vm.node && (await this.#placement.cordoned()).has(vm.node)) vm.nodeCordoned = true;
    return vm;
  }

  // The home volume is detached with the instance and kept: it goes only with homes.delete.
  async delete(workspace: string): Promise<void> {
    const deleted = await this.#instances.delete(workspace);
    if (deleted) this.#watch.forget(deleted);
  }

  async updateResources(workspace: string, r: Resources): Promise<'now'> {
    await this.#instances.updateResources(workspace, r);
    return 'now';
  }

  async exec(workspace: string, argv: string[], execOpts?: ExecOptions): Promise<ExecResult> {
    return this.#scope.exec(this.instanceName(workspace), argv, execOpts);
  }

  async openExec(workspace: string, req: ExecRequest): Promise<ExecSession> {
    const i = await this.#instances.get(workspace);
    if (i.status !== 'Running')
      throw new RuntimeError(
        `workspace ${workspace} is not running (instance ${i.name} is ${i.status ?? 'unknown'})`,
        'NotRunning',
      );
    return incusExec(this.client, this.#scope.query(`${this.#scope.instancePath(i.name)}/exec`), req);
  }

  async usageAll(): Promise<VMUsage[]> {
    return this.#usage.of((await this.#instances.list()).own);
  }

  subscribe(onChange: (name: string) => void): () => void {
    return this.#watch.subscribe(onChange);
  }

  // The warm pool's instances stay: the next start adopts them.
  async close(): Promise<void> {
    this.#pool?.close();
    this.#watch.close();
    await this.client.close();
  }
}
