// The stub's VMs in memory. Addresses come from 127.77.0.0/16 (all of 127/8 is local on
// Linux), so that with `ideServers` each running VM has a real HTTP server a proxy can reach.
import type { Server } from 'node:http';
import { RuntimeError, type CreateVMRequest, type Resources, type VM, type VMState } from '../types.js';
import { closeIde, listenIde } from './ide-server.js';

interface StubVM {
  name: string;
  state: VMState;
  ip: string;
  image: string;
  build?: string;
  cpu: number;
  memoryBytes: number;
  /** Resources kept for the next start ('nextStart' mode). */
  pending?: Resources;
  ideDown?: boolean;
  server?: Server;
  /** When it last started (Date.now()), for ipAfterMs. */
  startedAt?: number;
}

export interface MachinesSettings {
  /** Give each running VM a real HTTP server on ip:idePort. */
  ideServers: boolean;
  idePort: number;
  /** A started VM reports no IP until this long after its start (DHCP). */
  ipAfterMs: number;
}

export class StubMachines {
  readonly #vms = new Map<string, StubVM>();
  readonly #s: MachinesSettings;
  // A random start keeps two stubs (two test files at once) off each other's addresses.
  #nextAddr = Math.floor(Math.random() * 200) * 254;

  constructor(settings: MachinesSettings) {
    this.#s = settings;
  }

  has(name: string): boolean {
    return this.#vms.has(name);
  }

  /** The VMs as the driver reports them. */
  views(): VM[] {
    return [...this.#vms.values()].map((vm) => this.#viewOf(vm));
  }

  /** One VM as the driver reports it; undefined when missing. */
  view(name: string): VM | undefined {
    const vm = this.#vms.get(name);
    return vm && this.#viewOf(vm);
  }

  /** Makes a VM (started when asked); the caller has checked the request. */
  async create(req: CreateVMRequest): Promise<VM> {
    const vm: StubVM = {
      name: req.name,
      state: 'Stopped',
      ip: this.#allocateIp(),
      image: req.image,
      ...(req.build ? { build: req.build } : {}),
      cpu: req.cpu,
      memoryBytes: req.memoryBytes,
    };
    this.#vms.set(req.name, vm);
    if (req.start) await this.#powerOn(vm);
    return this.#viewOf(vm);
  }

  async start(name: string): Promise<void> {
    await this.#powerOn(this.#get(name));
  }

  async stop(name: string): Promise<void> {
    await this.#powerOff(this.#get(name));
  }

  /** Removes the VM; a missing one is not an error. */
  async remove(name: string): Promise<void> {
    const vm = this.#vms.get(name);
    if (!vm) return;
    this.#vms.delete(name);
    await this.#powerOff(vm);
  }

  /** 'nextStart' keeps the change for the next start when the VM runs (as Tart does); else 'now'. */
  updateResources(name: string, r: Resources, mode: 'now' | 'nextStart'): 'now' | 'nextStart' {
    const vm = this.#get(name);
    if (mode === 'nextStart' && vm.state === 'Running') {
      vm.pending = { ...r };
      return 'nextStart';
    }
    vm.cpu = r.cpu;
    vm.memoryBytes = r.memoryBytes;
    return 'now';
  }

  /** Throws unless the VM exists and runs. */
  requireRunning(name: string): void {
    if (this.#get(name).state !== 'Running')
      throw new RuntimeError(`stub: instance "${name}" is not running`, 'BadRequest', 400);
  }

  /** True when a running VM has `ip`, its IDE is up and `port` is the IDE port. */
  probe(ip: string, port: number): boolean {
    return (
      port === this.#s.idePort &&
      [...this.#vms.values()].some((vm) => vm.state === 'Running' && vm.ip === ip && !vm.ideDown)
    );
  }

  async setIdeDown(name: string, down: boolean): Promise<void> {
    const vm = this.#get(name);
    vm.ideDown = down;
    if (down) await this.#closeServer(vm);
    else if (vm.state === 'Running') await this.#powerOn(vm);
  }

  /** Closes every IDE server; the VMs stay as they are. */
  async closeServers(): Promise<void> {
    await Promise.all([...this.#vms.values()].map((vm) => closeIde(vm.server)));
    for (const vm of this.#vms.values()) vm.server = undefined;
  }

  #viewOf(vm: StubVM): VM {
    const addressed = vm.state === 'Running' && Date.now() - (vm.startedAt ?? 0) >= this.#s.ipAfterMs;
    return {
      name: vm.name,
      state: vm.state,
      image: vm.image,
      ...(vm.build ? { build: vm.build } : {}),
      cpu: vm.cpu,
      memoryBytes: vm.memoryBytes,
      ...(addressed ? { ip: vm.ip } : {}),
    };
  }

  #get(name: string): StubVM {
    const vm = this.#vms.get(name);
    if (!vm) throw stubNotFound(name);
    return vm;
  }

  #allocateIp(): string {
    // 127.77.255.x stays free: pickIdePort probes there.
    const n = this.#nextAddr++ % (255 * 254);
    return `127.77.${Math.floor(n / 254)}.${(n % 254) + 1}`;
  }

  async #powerOn(vm: StubVM): Promise<void> {
    if (vm.state !== 'Running' && vm.pending) {
      vm.cpu = vm.pending.cpu;
      vm.memoryBytes = vm.pending.memoryBytes;
      vm.pending = undefined;
    }
    if (vm.state !== 'Running') vm.startedAt = Date.now();
    vm.state = 'Running';
    if (!this.#s.ideServers || vm.server || vm.ideDown) return;
    // Another process may hold this address's IDE port (a parallel test run): move on to the next one.
    for (let tries = 0; ; tries++) {
      try {
        vm.server = await listenIde(vm.ip, vm.name, this.#s.idePort);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 50) throw err;
        vm.ip = this.#allocateIp();
      }
    }
  }

  async #powerOff(vm: StubVM): Promise<void> {
    vm.state = 'Stopped';
    await this.#closeServer(vm);
  }

  async #closeServer(vm: StubVM): Promise<void> {
    const server = vm.server;
    vm.server = undefined;
    await closeIde(server);
  }
}

export function stubNotFound(name: string): RuntimeError {
  return new RuntimeError(`stub: instance "${name}" not found`, 'NotFound', 404);
}
