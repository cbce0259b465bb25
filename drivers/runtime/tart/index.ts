// The Tart runtime driver (macOS): Workspaces as Tart VMs, through the `tart` CLI.
//
// The parts: names.ts (this Tidepool's VMs are "tp-<8 hex of its id>-<workspace>"; list()
// shows only those), cli.ts (one tart call), supervisor.ts (the detached `tart run` processes),
// poller.ts (changes made outside, reported through subscribe()). This file maps the
// RuntimeDriver contract onto them.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImageMap, resolveImage, type ImageMap } from '../images.js';
import { tartExec } from './exec.js';
import {
  RuntimeError,
  type CreateVMRequest,
  type ExecRequest,
  type ExecSession,
  type RuntimeDriver,
  type VM,
} from '../types.js';
import { isLocal, isRunning, TartCli, tartError, type TartListEntry } from './cli.js';
import { tartPrefix, vmSuffix, workspaceOfSuffix } from './names.js';
import { ChangePoller } from './poller.js';
import { killGroup, RunSupervisor, type Supervised, within } from './supervisor.js';

export { TART_PREFIX, tartPrefix } from './names.js';

export interface TartRuntimeOptions {
  /** This Tidepool's id; its VMs are named tp-<8 hex of the id>-<workspace>. */
  tidepoolId: string;
  /** The tart executable (default 'tart' on PATH). */
  tartPath?: string;
  /** TART_HOME for every call (default: tart's own, ~/.tart). */
  tartHome?: string;
  /** Extra environment for every call. */
  env?: Record<string, string>;
  /** Template name → image; default the one map in ../images.ts. */
  imageMap?: ImageMap;
  /** `tart stop --timeout`: graceful shutdown before tart forces it, seconds (default 30). */
  stopTimeoutSeconds?: number;
  /** How long start() waits for `tart list` to show the VM running, seconds (default 60). */
  startTimeoutSeconds?: number;
  /** How long one clone may take (pulling an OCI image can be slow), seconds (default 1800). */
  cloneTimeoutSeconds?: number;
  /** subscribe() also polls `tart list` this often to see changes made outside (default 3000; 0: off). */
  pollIntervalMs?: number;
  /** Where `tart run` output goes, one <vm>.log per VM (default <tmpdir>/tidepool-tart). */
  logDir?: string;
  /** Extra arguments for `tart run` (e.g. ['--net-softnet'] or ['--dir', 'src:~/src']). */
  runArgs?: string[];
  /** Diagnostics; default silent. */
  log?: (msg: string) => void;
}

export interface TartRuntime extends RuntimeDriver {
  /** The Tart VM name of a workspace (for logs and tests). */
  vmName(workspace: string): string;
  /** Pid of the `tart run` process this driver started for a workspace, while it runs. */
  runPid(workspace: string): number | undefined;
}

const MiB = 2 ** 20;

export function createTartRuntime(opts: TartRuntimeOptions): TartRuntime {
  if (!opts.tidepoolId) throw new RuntimeError('createTartRuntime: tidepoolId is required', 'InvalidConfig');
  return new TartDriver(opts);
}

class TartDriver implements TartRuntime {
  readonly name = 'tart';
  readonly #prefix: string;
  readonly #imageMap: ImageMap;
  readonly #stopTimeout: number;
  readonly #startTimeout: number;
  readonly #cloneTimeout: number;
  readonly #cli: TartCli;
  readonly #poller: ChangePoller;
  readonly #runs: RunSupervisor;
  /** IPs by VM name, while running. */
  readonly #ips = new Map<string, string>();

  constructor(opts: TartRuntimeOptions) {
    this.#prefix = tartPrefix(opts.tidepoolId);
    this.#imageMap = opts.imageMap ?? defaultImageMap;
    this.#stopTimeout = opts.stopTimeoutSeconds ?? 30;
    this.#startTimeout = opts.startTimeoutSeconds ?? 60;
    this.#cloneTimeout = opts.cloneTimeoutSeconds ?? 1800;
    const log = opts.log ?? (() => undefined);
    const env: Record<string, string> = { ...opts.env, ...(opts.tartHome ? { TART_HOME: opts.tartHome } : {}) };
    this.#cli = new TartCli(opts.tartPath ?? 'tart', env);
    this.#poller = new ChangePoller(this.#cli, this.#prefix, opts.pollIntervalMs ?? 3000, log);
    this.#runs = new RunSupervisor({
      tartPath: this.#cli.path,
      env,
      logDir: opts.logDir ?? join(tmpdir(), 'tidepool-tart'),
      runArgs: opts.runArgs ?? [],
      log,
      onExit: (vm, unexpected) => {
        this.#ips.delete(vm);
        if (unexpected) this.#poller.emit(this.#workspaceOf(vm));
      },
    });
  }

  vmName(workspace: string): string {
    return `${this.#prefix}${vmSuffix(workspace)}`;
  }

  runPid(workspace: string): number | undefined {
    return this.#runs.running(this.vmName(workspace))?.pid;
  }

  async list(): Promise<VM[]> {
    const mine = (await this.#cli.list()).filter((e) => isLocal(e) && e.Name.startsWith(this.#prefix));
    return Promise.all(mine.map((e) => this.#vmOf(e)));
  }

  // `tart list` is Tart's only view of state, but the IP is asked of this one VM alone.
  async get(workspace: string): Promise<VM | undefined> {
    const e = await this.#find(workspace);
    return e && this.#vmOf(e);
  }

  async create(req: CreateVMRequest): Promise<undefined> {
    const image = resolveImage(this.#imageMap, 'tart', req.image);
    const name = this.vmName(req.name);
    // `tart clone` silently replaces an existing VM: look first.
    if (await this.#find(req.name)) {
      throw new RuntimeError(`Tart VM ${name} of workspace ${req.name} already exists`, 'AlreadyExists', 409);
    }
    const cloneArgs = ['clone', image.source, name];
    const c = await this.#cli.run(cloneArgs, this.#cloneTimeout);
    if (c.code !== 0) throw tartError(cloneArgs, c, 'CloneFailed', 'ImageNotFound');
    const memory = String(Math.max(1, Math.round(req.memoryBytes / MiB)));
    const setArgs = ['set', name, '--cpu', String(req.cpu), '--memory', memory];
    const s = await this.#cli.run(setArgs, 60);
    if (s.code !== 0) {
      // Do not leave a half-made VM behind: the next create would find it "already existing".
      await this.#cli.run(['delete', name], 60).catch(() => undefined);
      throw tartError(setArgs, s, 'CreateFailed');
    }
    if (req.start) await this.start(req.name);
  }

  async start(workspace: string): Promise<void> {
    const name = this.vmName(workspace);
    if (this.#runs.running(name)) return;
    // Running already: started before a Tidepool restart, or by hand.
    if (isRunning(await this.#get(workspace))) return;
    await this.#awaitRunning(workspace, this.#runs.spawn(name));
  }

  async stop(workspace: string): Promise<void> {
    await this.#stopVm(workspace, false);
  }

  async openExec(workspace: string, req: ExecRequest): Promise<ExecSession> {
    const name = this.vmName(workspace);
    if (!isRunning(await this.#get(workspace)))
      throw new RuntimeError(`workspace ${workspace} is not running (Tart VM ${name} is stopped)`, 'NotRunning');
    return tartExec(this.#cli.path, this.#cli.env, name, req);
  }

  async delete(workspace: string): Promise<void> {
    const name = this.vmName(workspace);
    await this.#stopVm(workspace, true);
    const args = ['delete', name];
    const r = await this.#cli.run(args, 120);
    if (r.code === 2) return; // missing: fine
    if (r.code !== 0) throw tartError(args, r, 'DeleteFailed');
    this.#ips.delete(name);
  }

  subscribe(onChange: (name: string) => void): () => void {
    return this.#poller.subscribe(onChange);
  }

  async close(): Promise<void> {
    this.#poller.close();
    // VMs keep running: Tidepool's restart must not stop workspaces.
  }

  async #vmOf(e: TartListEntry): Promise<VM> {
    const running = isRunning(e);
    const vm: VM = { name: this.#workspaceOf(e.Name), state: running ? 'Running' : 'Stopped' };
    if (running) {
      const ip = await this.#ipOf(e.Name);
      if (ip) vm.ip = ip;
    } else this.#ips.delete(e.Name);
    return vm;
  }

  #workspaceOf(vm: string): string {
    return workspaceOfSuffix(vm.slice(this.#prefix.length));
  }

  async #find(workspace: string): Promise<TartListEntry | undefined> {
    const name = this.vmName(workspace);
    return (await this.#cli.list()).find((e) => isLocal(e) && e.Name === name);
  }

  /** The workspace's VM, or RuntimeError NotFound. */
  async #get(workspace: string): Promise<TartListEntry> {
    const e = await this.#find(workspace);
    if (e) return e;
    throw new RuntimeError(`Tart VM ${this.vmName(workspace)} of workspace ${workspace} not found`, 'NotFound', 404);
  }

  async #ipOf(name: string): Promise<string | undefined> {
    const cached = this.#ips.get(name);
    if (cached) return cached;
    const r = await this.#cli.run(['ip', name], 30);
    const ip = r.code === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
    if (ip) this.#ips.set(name, ip);
    return ip;
  }

  async #stopVm(workspace: string, missingOk: boolean): Promise<void> {
    const name = this.vmName(workspace);
    const sup = this.#runs.get(name);
    if (sup) sup.expected = true;
    const args = ['stop', name, '--timeout', String(this.#stopTimeout)];
    const r = await this.#cli.run(args, this.#stopTimeout + 60);
    if (r.code === 2) {
      // Not running (fine) or missing (fine only for delete).
      if (!missingOk && !(await this.#find(workspace))) throw tartError(args, r);
    } else if (r.code !== 0) {
      if (sup) sup.expected = false;
      throw tartError(args, r, 'StopFailed');
    }
    this.#ips.delete(name);
    if (sup) await this.#runs.reap(name, sup);
  }

  /** Waits for a `tart run` just spawned to show the VM running; an early exit or the timeout is an error. */
  async #awaitRunning(workspace: string, spawned: { sup: Supervised; logStart: number }): Promise<void> {
    const name = this.vmName(workspace);
    const { sup, logStart } = spawned;
    const deadline = Date.now() + this.#startTimeout * 1000;
    for (;;) {
      const exited = await within(
        sup.exited.then((code) => ({ code })),
        200,
      );
      if (exited) {
        const out = this.#runs.logTail(name, logStart);
        // 2 = already running: someone started it between our look and our run. That is what we wanted.
        if (exited.code === 2 && /already running/i.test(out)) return;
        const notFound = exited.code === 2;
        throw new RuntimeError(
          `tart run ${name} exited with code ${exited.code ?? 'unknown'}: ${out || 'no output'}`,
          notFound ? 'NotFound' : 'StartFailed',
          notFound ? 404 : undefined,
        );
      }
      const now = await this.#find(workspace).catch(() => undefined);
      if (now && isRunning(now)) return;
      if (Date.now() > deadline) {
        sup.expected = true;
        killGroup(sup.pid, 'SIGTERM');
        const output = this.#runs.logTail(name, logStart) || 'none';
        throw new RuntimeError(
          `Tart VM ${name} was not running ${this.#startTimeout}s after tart run; stopped it. Output: ${output}`,
          'Timeout',
          504,
        );
      }
    }
  }
}
