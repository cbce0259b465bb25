// The stub runtime: VMs in memory, for tests, benchmarks and `tidepool serve --runtime stub`.
// Addresses come from 127.77.0.0/16 (all of 127/8 is local on Linux), so with
// `ideServers` each running VM can have a real HTTP server a proxy can reach.
// Latency and failures are injectable; the *BehindBack helpers change the world the
// way a person at the runtime's own CLI would, and tell subscribers.
import type { Server } from 'node:http';
import {
  RuntimeError,
  type CreateVMRequest,
  type ExecOptions,
  type ExecResult,
  type HomeVolumes,
  type Resources,
  type RuntimeDriver,
  type VM,
  type VMState,
} from '../types.js';
import { IDE_PORT } from '../../../../specs/workspace.js';
import { closeIde, listenIde } from './ide-server.js';

export type StubOp = 'list' | 'create' | 'start' | 'stop' | 'delete' | 'update' | 'exec' | 'home';

/** A home in memory: file path (relative to the home) → content. */
export type StubHome = Map<string, string>;

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
  /**
   * Asked before every call; return a message (or true) to make that call fail with a
   * RuntimeError. Defaults to never failing. See also `fail()`.
   */
  failNext?: (op: StubOp, name: string | undefined) => string | boolean | undefined;
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
  close(): Promise<void>;
}

interface StubVM {
  name: string;
  state: VMState;
  ip: string;
  image: string;
  cpu: number;
  memoryBytes: number;
  /** Resources kept for the next start ('nextStart' mode). */
  pending?: Resources;
  ideDown?: boolean;
  server?: Server;
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

// A factory returning the stub driver as an object of short methods over the in-memory VMs
// and homes they share, plus the *BehindBack test helpers; long as a whole (and so is this
// file, over 300 lines), not in any one method.
export function createStubRuntime(opts: StubRuntimeOptions = {}): StubRuntime {
  const latencyMs = opts.latencyMs ?? 0;
  const listLatencyMs = opts.listLatencyMs ?? 0;
  const vms = new Map<string, StubVM>();
  const listeners = new Set<(name: string) => void>();
  const calls: Record<StubOp, number> = {
    list: 0,
    create: 0,
    start: 0,
    stop: 0,
    delete: 0,
    update: 0,
    exec: 0,
    home: 0,
  };
  const homeFiles = new Map<string, StubHome>();
  const failures: { op: StubOp; name?: string; times: number; message: string }[] = [];
  // A random start keeps two stubs (two test files at once) off each other's addresses.
  let nextAddr = Math.floor(Math.random() * 200) * 254;

  const allocateIp = () => {
    // 127.77.255.x stays free: pickIdePort probes there.
    const n = nextAddr++ % (255 * 254);
    return `127.77.${Math.floor(n / 254)}.${(n % 254) + 1}`;
  };

  const check = (op: StubOp, name?: string) => {
    calls[op]++;
    const i = failures.findIndex((f) => f.op === op && (f.name === undefined || f.name === name));
    if (i >= 0) {
      const f = failures[i]!;
      if (--f.times <= 0) failures.splice(i, 1);
      throw new RuntimeError(f.message);
    }
    const hook = opts.failNext?.(op, name);
    if (hook)
      throw new RuntimeError(
        typeof hook === 'string' ? hook : `stub: injected failure of ${op}${name ? ` ${name}` : ''}`,
      );
  };

  const notify = (name: string, o?: BehindBackOptions) => {
    if (o?.notify === false) return;
    for (const l of listeners) l(name);
  };

  const powerOn = async (vm: StubVM) => {
    if (vm.state !== 'Running' && vm.pending) {
      vm.cpu = vm.pending.cpu;
      vm.memoryBytes = vm.pending.memoryBytes;
      vm.pending = undefined;
    }
    vm.state = 'Running';
    if (!opts.ideServers || vm.server || vm.ideDown) return;
    // Another process may hold this address's :8080 (a parallel test run): move on to the next one.
    for (let tries = 0; ; tries++) {
      try {
        vm.server = await listenIde(vm.ip, vm.name, opts.idePort ?? IDE_PORT);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 50) throw err;
        vm.ip = allocateIp();
      }
    }
  };

  const powerOff = async (vm: StubVM) => {
    vm.state = 'Stopped';
    const server = vm.server;
    vm.server = undefined;
    await closeIde(server);
  };

  const notFound = (name: string) => new RuntimeError(`stub: instance "${name}" not found`, 'NotFound', 404);

  const view = (vm: StubVM): VM => ({
    name: vm.name,
    state: vm.state,
    image: vm.image,
    cpu: vm.cpu,
    memoryBytes: vm.memoryBytes,
    ...(vm.state === 'Running' ? { ip: vm.ip } : {}),
  });

  const checkImage = (template: string) => {
    if (opts.images && !opts.images.includes(template)) {
      throw new RuntimeError(
        `image template "${template}" is not in the stub image map (known: ${opts.images.join(', ')})`,
        'UnknownImage',
        422,
      );
    }
  };

  const doCreate = async (req: CreateVMRequest) => {
    if (vms.has(req.name)) throw new RuntimeError(`stub: instance "${req.name}" already exists`, 'AlreadyExists', 409);
    checkImage(req.image);
    if (req.home && !homeFiles.has(req.name))
      throw new RuntimeError(`stub: workspace "${req.name}" has no home to attach`, 'NotFound', 404);
    const vm: StubVM = {
      name: req.name,
      state: 'Stopped',
      ip: allocateIp(),
      image: req.image,
      cpu: req.cpu,
      memoryBytes: req.memoryBytes,
    };
    vms.set(req.name, vm);
    if (req.start) await powerOn(vm);
    return view(vm);
  };

  const homes: HomeVolumes = {
    path: '/home/dev',
    async ensure(name, from) {
      check('home', name);
      await sleep(latencyMs);
      if (homeFiles.has(name)) return { created: false };
      if (from !== undefined) {
        const src = homeFiles.get(from);
        if (!src) throw new RuntimeError(`stub: workspace "${from}" has no home to copy`, 'SourceNotFound', 404);
        homeFiles.set(name, new Map(src));
      } else {
        homeFiles.set(name, new Map());
      }
      return { created: true };
    },
    async exists(name) {
      return homeFiles.has(name);
    },
    async list() {
      return [...homeFiles.keys()];
    },
    async delete(name) {
      check('home', name);
      await sleep(latencyMs);
      if ([...vms.values()].some((vm) => vm.name === name))
        throw new RuntimeError(`stub: the home of "${name}" is in use by its VM`, 'Conflict', 400);
      homeFiles.delete(name);
    },
  };

  const updateResources = async (name: string, r: Resources) => {
    check('update', name);
    await sleep(latencyMs);
    const vm = vms.get(name);
    if (!vm) throw notFound(name);
    if (opts.liveResources === 'nextStart' && vm.state === 'Running') {
      vm.pending = { ...r };
      return 'nextStart' as const;
    }
    vm.cpu = r.cpu;
    vm.memoryBytes = r.memoryBytes;
    return 'now' as const;
  };

  const exec = async (name: string, argv: string[], o: ExecOptions = {}) => {
    check('exec', name);
    await sleep(latencyMs);
    const vm = vms.get(name);
    if (!vm) throw notFound(name);
    if (vm.state !== 'Running') throw new RuntimeError(`stub: instance "${name}" is not running`, 'BadRequest', 400);
    return opts.exec!(name, argv, o, homeFiles.get(name));
  };

  const doDelete = async (name: string) => {
    const vm = vms.get(name);
    if (!vm) return;
    vms.delete(name);
    await powerOff(vm);
  };

  const optional: Partial<RuntimeDriver> = {
    ...(opts.homes !== false ? { homes } : {}),
    ...(opts.liveResources !== false ? { updateResources } : {}),
    ...(opts.exec ? { exec } : {}),
  };

  return {
    name: 'stub',
    ...optional,
    calls,
    homeFiles,
    async checkImage(template) {
      checkImage(template);
    },
    async list() {
      check('list');
      await sleep(listLatencyMs);
      return [...vms.values()].map(view);
    },
    async create(req) {
      check('create', req.name);
      await sleep(latencyMs);
      return doCreate(req);
    },
    async start(name) {
      check('start', name);
      await sleep(latencyMs);
      const vm = vms.get(name);
      if (!vm) throw notFound(name);
      await powerOn(vm);
    },
    async stop(name) {
      check('stop', name);
      await sleep(latencyMs);
      const vm = vms.get(name);
      if (!vm) throw notFound(name);
      await powerOff(vm);
    },
    async delete(name) {
      check('delete', name);
      await sleep(latencyMs);
      await doDelete(name);
    },
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    fail(op, times = 1, message = `stub: injected failure of ${op}`, name) {
      failures.push({ op, times, message, ...(name !== undefined ? { name } : {}) });
    },
    async probe(ip, port) {
      return (
        port === (opts.idePort ?? IDE_PORT) &&
        [...vms.values()].some((vm) => vm.state === 'Running' && vm.ip === ip && !vm.ideDown)
      );
    },
    async setIdeDown(name, down) {
      const vm = vms.get(name);
      if (!vm) throw notFound(name);
      vm.ideDown = down;
      if (down) {
        const server = vm.server;
        vm.server = undefined;
        await closeIde(server);
      } else if (vm.state === 'Running') {
        await powerOn(vm);
      }
    },
    snapshot() {
      return [...vms.values()].map(view);
    },
    async createBehindBack(req, o) {
      await doCreate({ ...req, home: false });
      notify(req.name, o);
    },
    async deleteBehindBack(name, o) {
      if (!vms.has(name)) throw notFound(name);
      await doDelete(name);
      notify(name, o);
    },
    async stopBehindBack(name, o) {
      const vm = vms.get(name);
      if (!vm) throw notFound(name);
      await powerOff(vm);
      notify(name, o);
    },
    async startBehindBack(name, o) {
      const vm = vms.get(name);
      if (!vm) throw notFound(name);
      await powerOn(vm);
      notify(name, o);
    },
    async close() {
      listeners.clear();
      await Promise.all([...vms.values()].map((vm) => closeIde(vm.server)));
      for (const vm of vms.values()) vm.server = undefined;
    },
  };
}
