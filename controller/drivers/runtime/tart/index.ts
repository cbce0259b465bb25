// The Tart runtime driver (macOS): Workspaces as Tart VMs, through the `tart` CLI with execa.
//
// Tart has no labels, so this Tidepool's VMs are the ones named "tp-<8 hex of its id>-<workspace>";
// list() shows only those. `tart run` stays in the foreground until the VM stops, so start()
// spawns it detached (it outlives Tidepool), keeps its pid, logs its output to a file per VM
// and watches it: an exit Tidepool did not ask for is reported through subscribe().
// Exit code 2 from tart means: the VM does not exist, is not running, or is already running.
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { defaultImageMap, resolveImage, type ImageMap } from '../images.js';
import { RuntimeError, type CreateVMRequest, type RuntimeDriver, type VM } from '../types.js';

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

interface TartListEntry {
  Source?: string;
  Name: string;
  Running?: boolean;
  State?: string;
}

interface Supervised {
  pid: number;
  /** Resolves with the exit code when the `tart run` process ends. */
  exited: Promise<number | undefined>;
  done: boolean;
  /** Set when Tidepool itself stops it: that exit is not news. */
  expected: boolean;
}

export const TART_PREFIX = 'tp-';

/** The prefix of this Tidepool's VM names. */
export function tartPrefix(tidepoolId: string): string {
  return `${TART_PREFIX}${createHash('sha256').update(`tidepool:${tidepoolId}`).digest('hex').slice(0, 8)}-`;
}

/** The Tart VM name of a workspace for this Tidepool. */
export function tartVmName(workspace: string, tidepoolId: string): string {
  return `${tartPrefix(tidepoolId)}${workspace}`;
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
  const id = opts.tidepoolId;
  const tart = opts.tartPath ?? 'tart';
  const prefix = tartPrefix(id);
  const imageMap = opts.imageMap ?? defaultImageMap;
  const stopTimeout = opts.stopTimeoutSeconds ?? 30;
  const startTimeout = opts.startTimeoutSeconds ?? 60;
  const cloneTimeout = opts.cloneTimeoutSeconds ?? 1800;
  const pollMs = opts.pollIntervalMs ?? 3000;
  const logDir = opts.logDir ?? join(tmpdir(), 'tidepool-tart');
  const log = opts.log ?? (() => undefined);
  const env: Record<string, string> = { ...opts.env, ...(opts.tartHome ? { TART_HOME: opts.tartHome } : {}) };
  const vmName = (ws: string) => `${prefix}${ws}`;

  const supervised = new Map<string, Supervised>(); // by VM name
  const ips = new Map<string, string>(); // by VM name, while running
  const listeners = new Set<(name: string) => void>();
  const emit = (workspace: string) => {
    for (const l of listeners) {
      try {
        l(workspace);
      } catch (err) {
        log(`tart: subscriber failed: ${(err as Error).message}`);
      }
    }
  };
  let pollTimer: NodeJS.Timeout | undefined;
  let lastSeen: Map<string, boolean> | undefined; // workspace → running, from the last poll

  /** Runs tart; returns exit code and output. Never throws for a non-zero exit; throws when tart cannot run. */
  async function run(args: string[], timeoutSeconds = 120): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await execa(tart, args, { env, reject: false, stdin: 'ignore', timeout: timeoutSeconds * 1000 });
    if (r.failed && r.exitCode === undefined) {
      const code = (r as { code?: string }).code;
      if (code === 'ENOENT') throw new RuntimeError(`tart is not available: ${tart} not found (install Tart: brew install cirruslabs/cli/tart)`, 'RuntimeUnavailable', 503);
      if (r.timedOut) throw new RuntimeError(`tart ${args[0]} did not finish within ${timeoutSeconds}s`, 'Timeout', 504);
      throw new RuntimeError(`tart ${args[0]} could not run: ${r.shortMessage ?? r.message}`, 'RuntimeUnavailable', 503);
    }
    return { code: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  }

  const tartError = (args: string[], r: { code: number; stderr: string; stdout: string }, reason = 'TartError') =>
    new RuntimeError(
      `tart ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim() || 'no output'}`,
      r.code === 2 ? 'NotFound' : reason,
      r.code === 2 ? 404 : undefined,
    );

  async function listAll(): Promise<TartListEntry[]> {
    const args = ['list', '--format', 'json'];
    const r = await run(args, 60);
    if (r.code !== 0) throw tartError(args, r);
    try {
      return JSON.parse(r.stdout) as TartListEntry[];
    } catch {
      throw new RuntimeError(`tart list --format json printed something that is not JSON: ${r.stdout.slice(0, 200)}`, 'TartError');
    }
  }

  const isLocal = (e: TartListEntry) => !e.Source || e.Source.toLowerCase() === 'local';
  const isRunning = (e: TartListEntry) => e.Running ?? e.State === 'running';

  async function find(workspace: string): Promise<TartListEntry | undefined> {
    const name = vmName(workspace);
    return (await listAll()).find((e) => isLocal(e) && e.Name === name);
  }

  async function ipOf(name: string): Promise<string | undefined> {
    const cached = ips.get(name);
    if (cached) return cached;
    const r = await run(['ip', name], 30);
    const ip = r.code === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
    if (ip) ips.set(name, ip);
    return ip;
  }

  function alive(s: Supervised | undefined): s is Supervised {
    return !!s && !s.done;
  }

  function logTail(name: string, from: number): string {
    try {
      const text = readFileSync(join(logDir, `${name}.log`), 'utf8');
      return text.slice(from).trim().split('\n').slice(-10).join('\n');
    } catch {
      return '';
    }
  }

  /** Spawns `tart run NAME --no-graphics` detached; output to <logDir>/<name>.log. */
  function spawnRun(workspace: string): { sup: Supervised; logStart: number } {
    const name = vmName(workspace);
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, `${name}.log`);
    let logStart = 0;
    try {
      logStart = statSync(file).size;
    } catch {
      // new log
    }
    // The output goes straight to a file descriptor, not through a pipe to Tidepool: the VM must
    // outlive a Tidepool restart, and a broken pipe would kill it. (Plain spawn for this one call:
    // execa's stdout targets go through the parent.)
    const fd = openSync(file, 'a');
    let child: ChildProcess;
    try {
      child = spawn(tart, ['run', name, '--no-graphics', ...(opts.runArgs ?? [])], {
        env: { ...process.env, ...env }, detached: true, stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    // Do not keep the event loop alive for the VM.
    child.unref();
    const sup: Supervised = { pid: child.pid ?? -1, exited: Promise.resolve(undefined), done: false, expected: false };
    sup.exited = new Promise<number | undefined>((resolve) => {
      child.once('exit', (code) => resolve(code ?? undefined));
      child.once('error', (err) => {
        appendFileSync(file, `tidepool: cannot run ${tart}: ${err.message}\n`);
        resolve(undefined);
      });
    }).then((code) => {
      sup.done = true;
      ips.delete(name);
      if (supervised.get(name) === sup) supervised.delete(name);
      if (!sup.expected) {
        log(`tart: ${name} (pid ${sup.pid}) exited with code ${code ?? 'unknown'}`);
        emit(workspace);
      }
      return code;
    });
    supervised.set(name, sup);
    return { sup, logStart };
  }

  async function stopVm(workspace: string, missingOk: boolean): Promise<void> {
    const name = vmName(workspace);
    const sup = supervised.get(name);
    if (sup) sup.expected = true;
    const args = ['stop', name, '--timeout', String(stopTimeout)];
    const r = await run(args, stopTimeout + 60);
    if (r.code === 2) {
      // Not running (fine) or missing (fine only for delete).
      if (!missingOk && !(await find(workspace))) throw tartError(args, r);
    } else if (r.code !== 0) {
      if (sup) sup.expected = false;
      throw tartError(args, r, 'StopFailed');
    }
    ips.delete(name);
    if (alive(sup)) {
      // tart stop has returned: the run process ends at once; make sure of it.
      if (!(await within(sup.exited.then(() => true), 10_000))) {
        log(`tart: ${name} run process ${sup.pid} still there after tart stop; terminating it`);
        killGroup(sup.pid, 'SIGTERM');
        if (!(await within(sup.exited.then(() => true), 5_000))) killGroup(sup.pid, 'SIGKILL');
      }
    }
  }

  function startPolling() {
    if (pollTimer || pollMs <= 0) return;
    const tick = async () => {
      try {
        const now = new Map<string, boolean>();
        for (const e of await listAll()) {
          if (isLocal(e) && e.Name.startsWith(prefix)) now.set(e.Name.slice(prefix.length), isRunning(e));
        }
        if (lastSeen) {
          for (const [ws, running] of now) if (lastSeen.get(ws) !== running) emit(ws);
          for (const ws of lastSeen.keys()) if (!now.has(ws)) emit(ws);
        }
        lastSeen = now;
      } catch (err) {
        log(`tart: poll failed: ${(err as Error).message}`);
      }
      if (listeners.size > 0) {
        pollTimer = setTimeout(tick, pollMs);
        pollTimer.unref?.();
      } else pollTimer = undefined;
    };
    pollTimer = setTimeout(tick, 0);
    pollTimer.unref?.();
  }

  return {
    name: 'tart',
    vmName,
    runPid: (ws) => {
      const s = supervised.get(vmName(ws));
      return alive(s) ? s.pid : undefined;
    },

    async list() {
      const mine = (await listAll()).filter((e) => isLocal(e) && e.Name.startsWith(prefix));
      return Promise.all(
        mine.map(async (e): Promise<VM> => {
          const running = isRunning(e);
          const vm: VM = { name: e.Name.slice(prefix.length), state: running ? 'Running' : 'Stopped' };
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
      const c = await run(cloneArgs, cloneTimeout);
      if (c.code !== 0) {
        throw new RuntimeError(`tart ${cloneArgs.join(' ')} failed (exit ${c.code}): ${(c.stderr || c.stdout).trim() || 'no output'}`, c.code === 2 ? 'ImageNotFound' : 'CloneFailed', c.code === 2 ? 404 : undefined);
      }
      const setArgs = ['set', name, '--cpu', String(req.cpu), '--memory', String(Math.max(1, Math.round(req.memoryBytes / MiB)))];
      const s = await run(setArgs, 60);
      if (s.code !== 0) {
        // Do not leave a half-made VM behind: the next create would find it "already existing".
        await run(['delete', name], 60).catch(() => undefined);
        throw tartError(setArgs, s, 'CreateFailed');
      }
      if (req.start) await this.start(req.name);
    },

    async start(workspace: string) {
      const name = vmName(workspace);
      if (alive(supervised.get(name))) return;
      const e = await find(workspace);
      if (!e) throw new RuntimeError(`Tart VM ${name} of workspace ${workspace} not found`, 'NotFound', 404);
      if (isRunning(e)) return; // running already (started before a Tidepool restart, or by hand)
      const { sup, logStart } = spawnRun(workspace);
      const deadline = Date.now() + startTimeout * 1000;
      for (;;) {
        const exited = await within(sup.exited.then((code) => ({ code })), 200);
        if (exited) {
          const out = logTail(name, logStart);
          // 2 = already running: someone started it between our look and our run. That is what we wanted.
          if (exited.code === 2 && /already running/i.test(out)) return;
          throw new RuntimeError(`tart run ${name} exited with code ${exited.code ?? 'unknown'}: ${out || 'no output'}`, exited.code === 2 ? 'NotFound' : 'StartFailed', exited.code === 2 ? 404 : undefined);
        }
        const now = await find(workspace).catch(() => undefined);
        if (now && isRunning(now)) return;
        if (Date.now() > deadline) {
          sup.expected = true;
          killGroup(sup.pid, 'SIGTERM');
          throw new RuntimeError(`Tart VM ${name} was not running ${startTimeout}s after tart run; stopped it. Output: ${logTail(name, logStart) || 'none'}`, 'Timeout', 504);
        }
      }
    },

    async stop(workspace: string) {
      await stopVm(workspace, false);
    },

    async delete(workspace: string) {
      const name = vmName(workspace);
      await stopVm(workspace, true);
      const args = ['delete', name];
      const r = await run(args, 120);
      if (r.code === 2) return; // missing: fine
      if (r.code !== 0) throw tartError(args, r, 'DeleteFailed');
      ips.delete(name);
    },

    subscribe(onChange: (name: string) => void) {
      listeners.add(onChange);
      startPolling();
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0 && pollTimer) {
          clearTimeout(pollTimer);
          pollTimer = undefined;
          lastSeen = undefined;
        }
      };
    },

    async close() {
      listeners.clear();
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = undefined;
      // VMs keep running: Tidepool's restart must not stop workspaces.
    },
  };
}

/** p's value, or undefined when it has not settled within ms (the timer is cleared either way). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Signals the detached `tart run` process group this driver started. */
function killGroup(pid: number, signal: NodeJS.Signals) {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}
