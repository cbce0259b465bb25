// The Tart runtime driver (macOS): Workspaces as Tart VMs, through the `tart` CLI.
//
// The parts: names.ts (this Tidepool's VMs are "tp-<8 hex of its id>-<workspace>"; list()
// shows only those), cli.ts (one tart call), supervisor.ts (the detached `tart run` processes),
// poller.ts (changes made outside, reported through subscribe()). This file maps the
// RuntimeDriver contract onto them.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImageMap, resolveImage, type ImageMap } from '../images.js';
import { RuntimeError, type CreateVMRequest, type RuntimeDriver, type VM } from '../types.js';
import { isLocal, isRunning, TartCli, tartError, type TartListEntry } from './cli.js';
import { tartPrefix } from './names.js';
import { ChangePoller } from './poller.js';
import { killGroup, RunSupervisor, within } from './supervisor.js';

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
  const prefix = tartPrefix(opts.tidepoolId);
  const imageMap = opts.imageMap ?? defaultImageMap;
  const stopTimeout = opts.stopTimeoutSeconds ?? 30;
  const startTimeout = opts.startTimeoutSeconds ?? 60;
  const cloneTimeout = opts.cloneTimeoutSeconds ?? 1800;
  const log = opts.log ?? (() => undefined);
  const env: Record<string, string> = { ...opts.env, ...(opts.tartHome ? { TART_HOME: opts.tartHome } : {}) };
  const vmName = (ws: string) => `${prefix}${ws}`;
  const workspaceOf = (vm: string) => vm.slice(prefix.length);

  const cli = new TartCli(opts.tartPath ?? 'tart', env);
  const poller = new ChangePoller(cli, prefix, opts.pollIntervalMs ?? 3000, log);
  const ips = new Map<string, string>(); // by VM name, while running
  const runs = new RunSupervisor({
    tartPath: cli.path,
    env,
    logDir: opts.logDir ?? join(tmpdir(), 'tidepool-tart'),
    runArgs: opts.runArgs ?? [],
    log,
    onExit(vm, unexpected) {
      ips.delete(vm);
      if (unexpected) poller.emit(workspaceOf(vm));
    },
  });

  async function find(workspace: string): Promise<TartListEntry | undefined> {
    const name = vmName(workspace);
    return (await cli.list()).find((e) => isLocal(e) && e.Name === name);
  }

  async function ipOf(name: string): Promise<string | undefined> {
    const cached = ips.get(name);
    if (cached) return cached;
    const r = await cli.run(['ip', name], 30);
    const ip = r.code === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
    if (ip) ips.set(name, ip);
    return ip;
  }

  async function stopVm(workspace: string, missingOk: boolean): Promise<void> {
    const name = vmName(workspace);
    const sup = runs.get(name);
    if (sup) sup.expected = true;
    const args = ['stop', name, '--timeout', String(stopTimeout)];
    const r = await cli.run(args, stopTimeout + 60);
    if (r.code === 2) {
      // Not running (fine) or missing (fine only for delete).
      if (!missingOk && !(await find(workspace))) throw tartError(args, r);
    } else if (r.code !== 0) {
      if (sup) sup.expected = false;
      throw tartError(args, r, 'StopFailed');
    }
    ips.delete(name);
    if (sup) await runs.reap(name, sup);
  }

  /** Waits for a `tart run` just spawned to show the VM running; an early exit or the timeout is an error. */
  async function awaitRunning(workspace: string, spawned: ReturnType<RunSupervisor['spawn']>): Promise<void> {
    const name = vmName(workspace);
    const { sup, logStart } = spawned;
    const deadline = Date.now() + startTimeout * 1000;
    for (;;) {
      const exited = await within(
        sup.exited.then((code) => ({ code })),
        200,
      );
      if (exited) {
        const out = runs.logTail(name, logStart);
        // 2 = already running: someone started it between our look and our run. That is what we wanted.
        if (exited.code === 2 && /already running/i.test(out)) return;
        throw new RuntimeError(
          `tart run ${name} exited with code ${exited.code ?? 'unknown'}: ${out || 'no output'}`,
          exited.code === 2 ? 'NotFound' : 'StartFailed',
          exited.code === 2 ? 404 : undefined,
        );
      }
      const now = await find(workspace).catch(() => undefined);
      if (now && isRunning(now)) return;
      if (Date.now() > deadline) {
        sup.expected = true;
        killGroup(sup.pid, 'SIGTERM');
        throw new RuntimeError(
          `Tart VM ${name} was not running ${startTimeout}s after tart run; stopped it. Output: ${runs.logTail(name, logStart) || 'none'}`,
          'Timeout',
          504,
        );
      }
    }
  }

  return {
    name: 'tart',
    vmName,
    runPid: (ws) => runs.running(vmName(ws))?.pid,

    async list() {
      const mine = (await cli.list()).filter((e) => isLocal(e) && e.Name.startsWith(prefix));
      return Promise.all(
        mine.map(async (e): Promise<VM> => {
          const running = isRunning(e);
          const vm: VM = { name: workspaceOf(e.Name), state: running ? 'Running' : 'Stopped' };
          if (running) {
            const ip = await ipOf(e.Name);
            if (ip) vm.ip = ip;
          } else ips.delete(e.Name);
          return vm;
        }),
      );
    },

    async create(req: CreateVMRequest) {
      const image = resolveImage(imageMap, 'tart', req.image);
      const name = vmName(req.name);
      // `tart clone` silently replaces an existing VM: look first.
      if (await find(req.name)) {
        throw new RuntimeError(`Tart VM ${name} of workspace ${req.name} already exists`, 'AlreadyExists', 409);
      }
      const cloneArgs = ['clone', image.source, name];
      const c = await cli.run(cloneArgs, cloneTimeout);
      if (c.code !== 0) throw tartError(cloneArgs, c, 'CloneFailed', 'ImageNotFound');
      const setArgs = [
        'set',
        name,
        '--cpu',
        String(req.cpu),
        '--memory',
        String(Math.max(1, Math.round(req.memoryBytes / MiB))),
      ];
      const s = await cli.run(setArgs, 60);
      if (s.code !== 0) {
        // Do not leave a half-made VM behind: the next create would find it "already existing".
        await cli.run(['delete', name], 60).catch(() => undefined);
        throw tartError(setArgs, s, 'CreateFailed');
      }
      if (req.start) await this.start(req.name);
    },

    async start(workspace: string) {
      const name = vmName(workspace);
      if (runs.running(name)) return;
      const e = await find(workspace);
      if (!e) throw new RuntimeError(`Tart VM ${name} of workspace ${workspace} not found`, 'NotFound', 404);
      if (isRunning(e)) return; // running already (started before a Tidepool restart, or by hand)
      await awaitRunning(workspace, runs.spawn(name));
    },

    async stop(workspace: string) {
      await stopVm(workspace, false);
    },

    async delete(workspace: string) {
      const name = vmName(workspace);
      await stopVm(workspace, true);
      const args = ['delete', name];
      const r = await cli.run(args, 120);
      if (r.code === 2) return; // missing: fine
      if (r.code !== 0) throw tartError(args, r, 'DeleteFailed');
      ips.delete(name);
    },

    subscribe: (onChange: (name: string) => void) => poller.subscribe(onChange),

    async close() {
      poller.close();
      // VMs keep running: Tidepool's restart must not stop workspaces.
    },
  };
}
