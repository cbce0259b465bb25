// The stub runtime: VMs in memory, for tests, benchmarks and `tidepool serve --runtime stub`.
// Latency and failures are injectable (faults.ts); the VMs, with real IDE servers on
// 127.77.x.y when asked, are in machines.ts, the homes in homes.ts. The *BehindBack helpers
// change the world the way a person at the runtime's own CLI would, and tell subscribers.
import { IDE_PORT } from '../../../specs/workspace.js';
import {
  RuntimeError,
  type BuildImageRequest,
  type BuildReport,
  type CreateVMRequest,
  type ExecOptions,
  type ExecResult,
  type Resources,
  type ResourcesApplied,
  type RuntimeDriver,
  type VM,
  type VMUsage,
} from '../types.js';
import { StubFaults, type FailNext, type StubOp } from './faults.js';
import { StubHomes, type StubHome } from './homes.js';
import { StubImages } from './images.js';
import { StubMachines, stubNotFound } from './machines.js';

export type { StubOp } from './faults.js';
export type { StubHome } from './homes.js';

/** Runs a command "in" a stub VM: gets the VM's home (when it has one) to read and change. */
export type StubExec = (
  name: string,
  argv: string[],
  opts: ExecOptions,
  home: StubHome | undefined,
) => ExecResult | Promise<ExecResult>;

export interface StubRuntimeOptions {
  /** Delay of create, start, stop and delete. Defaults to 0. */
  latencyMs?: number;
  /** Delay of list. Defaults to 0. */
  listLatencyMs?: number;
  /** A started VM has no IP until this long after its start, as with DHCP (the controller polls meanwhile). Defaults to 0. */
  ipAfterMs?: number;
  /**
   * Asked before every call; return a message (or true) to make that call fail with a
   * RuntimeError. Defaults to never failing. See also `fail()`.
   */
  failNext?: FailNext;
  /** Give each running VM a real HTTP server on ip:8080. Defaults to false (the in-memory `probe` answers instead). */
  ideServers?: boolean;
  /** The port of those IDE servers (and of the in-memory probe). Defaults to 8080; serve picks another when the host holds 8080. */
  idePort?: number;
  /** Keep homes on volumes of their own (in memory), as Incus does. Defaults to true. */
  homes?: boolean;
  /** Apply resources changes: 'now' (Incus), 'nextStart' (a running Tart VM), or false for no such capability. Defaults to 'now'. */
  liveResources?: 'now' | 'nextStart' | false;
  /** Gives the stub an exec capability that runs this. Defaults to none (the runtime cannot exec). */
  exec?: StubExec;
  /** Image templates it can make VMs from; others are refused as UnknownImage. Defaults to any. */
  images?: string[];
  /** How long an ImageTemplate build takes, ms. Defaults to 0. */
  buildMs?: number;
}

export interface BehindBackOptions {
  /** Tell subscribers, as a runtime with an event stream would. Defaults to true. */
  notify?: boolean;
}

export interface StubRuntime extends RuntimeDriver {
  /** Calls made through the driver interface, by operation. */
  readonly calls: Record<StubOp, number>;
  /** Makes the next `times` calls of `op` (on `name` only, when given) fail with `message`. */
  fail(op: StubOp, times?: number, message?: string, name?: string): void;
  /** True when a running VM has `ip` and its IDE port is `port`: the probe for tests without real servers. */
  probe(ip: string, port: number): Promise<boolean>;
  /** The VMs as they are, without counting a list call. */
  snapshot(): VM[];
  /** The homes as they are (workspace name → files), without counting a call. */
  readonly homeFiles: Map<string, StubHome>;
  /** Stops answering the IDE probe (and closes its server) of a running VM, or answers again: an IDE that hangs or crashes. */
  setIdeDown(name: string, down: boolean): Promise<void>;
  createBehindBack(req: CreateVMRequest, opts?: BehindBackOptions): Promise<void>;
  deleteBehindBack(name: string, opts?: BehindBackOptions): Promise<void>;
  stopBehindBack(name: string, opts?: BehindBackOptions): Promise<void>;
  startBehindBack(name: string, opts?: BehindBackOptions): Promise<void>;
  /** Sets what `usageAll` reports for a VM while it runs (CPU seconds, memory...); unset figures are 0. */
  setUsage(name: string, usage: Omit<VMUsage, 'name'>): void;
  /** The images its ImageTemplate builds made (stub/images.ts). */
  readonly images: StubImages;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export function createStubRuntime(opts: StubRuntimeOptions = {}): StubRuntime {
  return new StubDriver(opts);
}

class StubDriver implements StubRuntime {
  readonly name = 'stub';
  readonly calls: Record<StubOp, number>;
  readonly homeFiles: Map<string, StubHome>;
  // The optional capabilities exist only when the options give them, as on a runtime that
  // lacks one: `declare` keeps an absent one off the object altogether.
  declare homes?: StubHomes;
  declare updateResources?: (name: string, r: Resources) => Promise<ResourcesApplied>;
  declare exec?: (name: string, argv: string[], o?: ExecOptions) => Promise<ExecResult>;
  readonly #opts: StubRuntimeOptions;
  readonly #faults: StubFaults;
  readonly #machines: StubMachines;
  readonly #homes: StubHomes;
  readonly #listeners = new Set<(name: string) => void>();
  readonly #usage = new Map<string, Omit<VMUsage, 'name'>>();
  readonly images: StubImages;

  constructor(opts: StubRuntimeOptions) {
    this.#opts = opts;
    this.#faults = new StubFaults(opts.failNext);
    this.images = new StubImages(opts.buildMs);
    this.#machines = new StubMachines({
      ideServers: opts.ideServers ?? false,
      idePort: opts.idePort ?? IDE_PORT,
      ipAfterMs: opts.ipAfterMs ?? 0,
    });
    this.#homes = new StubHomes(
      this.#faults,
      () => this.#delay(),
      (name) => this.#machines.has(name),
    );
    this.calls = this.#faults.calls;
    this.homeFiles = this.#homes.files;
    this.#addCapabilities(opts);
    bindMethods(this);
  }

  async checkImage(template: string): Promise<void> {
    this.#checkTemplate(template);
  }

  async buildImage(req: BuildImageRequest, report: BuildReport): Promise<void> {
    await this.#call('buildImage', req.template);
    await this.images.build(req, report);
  }

  async deleteImage(image: string): Promise<void> {
    await this.images.delete(image);
  }

  async hasImage(image: string): Promise<boolean> {
    return this.images.has(image);
  }

  async list(): Promise<VM[]> {
    this.#faults.check('list');
    await sleep(this.#opts.listLatencyMs ?? 0);
    return this.#machines.views();
  }

  async get(name: string): Promise<VM | undefined> {
    this.#faults.check('get', name);
    await sleep(this.#opts.listLatencyMs ?? 0);
    return this.#machines.view(name);
  }

  async create(req: CreateVMRequest): Promise<VM> {
    await this.#call('create', req.name);
    return this.#create(req);
  }

  async start(name: string): Promise<void> {
    await this.#call('start', name);
    await this.#machines.start(name);
  }

  async stop(name: string): Promise<void> {
    await this.#call('stop', name);
    await this.#machines.stop(name);
  }

  async delete(name: string): Promise<void> {
    await this.#call('delete', name);
    await this.#machines.remove(name);
  }

  subscribe(onChange: (name: string) => void): () => void {
    this.#listeners.add(onChange);
    return () => this.#listeners.delete(onChange);
  }

  fail(op: StubOp, times = 1, message = `stub: injected failure of ${op}`, name?: string): void {
    this.#faults.fail(op, times, message, name);
  }

  async probe(ip: string, port: number): Promise<boolean> {
    return this.#machines.probe(ip, port);
  }

  snapshot(): VM[] {
    return this.#machines.views();
  }

  async setIdeDown(name: string, down: boolean): Promise<void> {
    await this.#machines.setIdeDown(name, down);
  }

  async createBehindBack(req: CreateVMRequest, o?: BehindBackOptions): Promise<void> {
    await this.#create({ ...req, home: false });
    this.#notify(req.name, o);
  }

  async deleteBehindBack(name: string, o?: BehindBackOptions): Promise<void> {
    if (!this.#machines.has(name)) throw stubNotFound(name);
    await this.#machines.remove(name);
    this.#notify(name, o);
  }

  async stopBehindBack(name: string, o?: BehindBackOptions): Promise<void> {
    await this.#machines.stop(name);
    this.#notify(name, o);
  }

  async startBehindBack(name: string, o?: BehindBackOptions): Promise<void> {
    await this.#machines.start(name);
    this.#notify(name, o);
  }

  setUsage(name: string, usage: Omit<VMUsage, 'name'>): void {
    this.#usage.set(name, { ...this.#usage.get(name), ...usage });
  }

  /** Running VMs with what setUsage said (else 0), their memory limit and their home's bytes. */
  async usageAll(): Promise<VMUsage[]> {
    const out: VMUsage[] = [];
    for (const vm of this.#machines.views()) {
      if (vm.state !== 'Running') continue;
      const home = this.#homes.files.get(vm.name);
      out.push({
        name: vm.name,
        cpuSeconds: 0,
        memoryBytes: 0,
        networkRxBytes: 0,
        networkTxBytes: 0,
        ...(vm.memoryBytes !== undefined ? { memoryLimitBytes: vm.memoryBytes } : {}),
        ...(home ? { homeUsedBytes: homeBytes(home) } : {}),
        ...this.#usage.get(vm.name),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#machines.closeServers();
  }

  #addCapabilities(opts: StubRuntimeOptions): void {
    if (opts.homes !== false) this.homes = this.#homes;
    const mode = opts.liveResources ?? 'now';
    if (mode !== false) {
      this.updateResources = async (name, r) => {
        await this.#call('update', name);
        return this.#machines.updateResources(name, r, mode);
      };
    }
    const run = opts.exec;
    if (run) {
      this.exec = async (name, argv, o = {}) => {
        await this.#call('exec', name);
        this.#machines.requireRunning(name);
        return run(name, argv, o, this.#homes.files.get(name));
      };
    }
  }

  /** Counts the call, fails it when a test asked so, and takes the latency of a runtime call. */
  async #call(op: StubOp, name: string): Promise<void> {
    this.#faults.check(op, name);
    await this.#delay();
  }

  #delay(): Promise<void> {
    return sleep(this.#opts.latencyMs ?? 0);
  }

  /** Refuses an image template the options do not list (UnknownImage), as an image map would. */
  #checkTemplate(template: string): void {
    const known = this.#opts.images;
    if (known && !known.includes(template)) {
      throw new RuntimeError(
        `image template "${template}" is not in the stub image map (known: ${known.join(', ')})`,
        'UnknownImage',
        422,
      );
    }
  }

  /** Makes a VM after checking the request as a runtime would. */
  async #create(req: CreateVMRequest): Promise<VM> {
    if (this.#machines.has(req.name))
      throw new RuntimeError(`stub: instance "${req.name}" already exists`, 'AlreadyExists', 409);
    if (req.build && !this.images.built.has(req.build))
      throw new RuntimeError(`stub: no image "${req.build}"`, 'ImageNotFound', 404);
    if (!req.build) this.#checkTemplate(req.image);
    if (req.home && !this.#homes.files.has(req.name))
      throw new RuntimeError(`stub: workspace "${req.name}" has no home to attach`, 'NotFound', 404);
    return this.#machines.create(req);
  }

  #notify(name: string, o?: BehindBackOptions): void {
    if (o?.notify === false) return;
    for (const l of this.#listeners) l(name);
  }
}

function homeBytes(home: StubHome): number {
  let n = 0;
  for (const v of home.values()) n += Buffer.byteLength(v);
  return n;
}

/**
 * Makes every method of the driver an own property bound to it. Tests and benchmarks hand
 * methods on detached (`probe: runtime.probe`) and wrap the driver with Object.create to
 * override one method, as they could when the driver was a closure; private fields need the
 * driver itself as `this`.
 */
function bindMethods(driver: StubDriver): void {
  const proto = Object.getPrototypeOf(driver) as object;
  for (const key of Object.getOwnPropertyNames(proto)) {
    const method: unknown = Object.getOwnPropertyDescriptor(proto, key)?.value;
    if (key === 'constructor' || typeof method !== 'function') continue;
    Object.defineProperty(driver, key, { value: method.bind(driver), writable: true, configurable: true });
  }
}
