// The `tart run` processes this driver started. `tart run` stays in the foreground until the
// VM stops, so it is spawned detached (it outlives Tidepool), its output goes to one log file
// per VM, and its exit is watched: an exit Tidepool did not ask for is reported.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../../specs/errors.js';

export interface Supervised {
  pid: number;
  /** Resolves with the exit code when the `tart run` process ends. */
  exited: Promise<number | undefined>;
  done: boolean;
  /** Set when Tidepool itself stops it: that exit is not news. */
  expected: boolean;
}

export interface SupervisorOptions {
  tartPath: string;
  /** The environment of `tart run`, on top of this process's. */
  env: Record<string, string>;
  /** Where the output goes, one <vm>.log per VM. */
  logDir: string;
  /** Extra arguments for `tart run`. */
  runArgs: readonly string[];
  log: (msg: string) => void;
  /** A `tart run` ended (for any reason); `unexpected` when Tidepool did not stop it. */
  onExit(vm: string, unexpected: boolean): void;
}

export class RunSupervisor {
  readonly #o: SupervisorOptions;
  readonly #byVm = new Map<string, Supervised>();

  constructor(opts: SupervisorOptions) {
    this.#o = opts;
  }

  /** The process of this VM, while it runs. */
  running(vm: string): Supervised | undefined {
    const s = this.#byVm.get(vm);
    return s && !s.done ? s : undefined;
  }

  /** The process of this VM, running or ended but not yet forgotten. */
  get(vm: string): Supervised | undefined {
    return this.#byVm.get(vm);
  }

  /** The last lines `tart run` wrote for this VM since `from` (a byte offset of its log). */
  logTail(vm: string, from: number): string {
    try {
      const text = readFileSync(join(this.#o.logDir, `${vm}.log`), 'utf8');
      return text.slice(from).trim().split('\n').slice(-10).join('\n');
    } catch {
      return '';
    }
  }

  /** Spawns `tart run VM --no-graphics` detached; output to <logDir>/<vm>.log, from `logStart` on. */
  spawn(vm: string): { sup: Supervised; logStart: number } {
    const { tartPath, env, logDir, runArgs, log, onExit } = this.#o;
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, `${vm}.log`);
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
      child = spawn(tartPath, ['run', vm, '--no-graphics', ...runArgs], {
        env: { ...process.env, ...env },
        detached: true,
        stdio: ['ignore', fd, fd],
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
        appendFileSync(file, `tidepool: cannot run ${tartPath}: ${errorMessage(err)}\n`);
        resolve(undefined);
      });
    }).then((code) => {
      sup.done = true;
      if (this.#byVm.get(vm) === sup) this.#byVm.delete(vm);
      if (!sup.expected) log(`tart: ${vm} (pid ${sup.pid}) exited with code ${code ?? 'unknown'}`);
      onExit(vm, !sup.expected);
      return code;
    });
    this.#byVm.set(vm, sup);
    return { sup, logStart };
  }

  /** After `tart stop` returned: the run process ends at once; make sure of it (SIGTERM, then SIGKILL). */
  async reap(vm: string, sup: Supervised): Promise<void> {
    if (sup.done) return;
    if (
      await within(
        sup.exited.then(() => true),
        10_000,
      )
    )
      return;
    this.#o.log(`tart: ${vm} run process ${sup.pid} still there after tart stop; terminating it`);
    killGroup(sup.pid, 'SIGTERM');
    if (
      !(await within(
        sup.exited.then(() => true),
        5_000,
      ))
    )
      killGroup(sup.pid, 'SIGKILL');
  }
}

/** p's value, or undefined when it has not settled within ms (the timer is cleared either way). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Signals the detached `tart run` process group this driver started. */
export function killGroup(pid: number, signal: NodeJS.Signals) {
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
