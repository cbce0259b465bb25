// One supervised process of the data plane (Caddy, dnsmasq). It outlives the Tidepool that
// starts it: spawned in its own session, its pid and argv kept in a pid file, so the next
// Tidepool on the same state dir adopts it (a live pid whose command line is exactly the one
// recorded, and that the caller accepts) instead of starting a second one beside it. Both
// children and adopted processes are watched; one that dies is started again with backoff
// and onRestart runs, so the caller can check what it serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { endProcess, PidFile, processArgv } from './pid-file.js';
import { ProxyError } from './types.js';
import { errorMessage } from '../../specs/errors.js';

export { processArgv } from './pid-file.js';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface DaemonOptions {
  /** For logs and errors: "caddy", "dnsmasq". */
  name: string;
  binary: string;
  /** The arguments of a new process. */
  args: string[];
  /** The whole environment of a new process (nothing of Tidepool's own is passed on). */
  env: NodeJS.ProcessEnv;
  /** `{"pid": N, "argv": [...]}` of the process last started for this state dir. */
  pidFile: string;
  logFile: string;
  /** Whether a process left running with `argv` may be adopted (the caller compares what matters). */
  accept(argv: string[]): boolean;
  /** Resolves once the process serves; rejects while it does not. */
  probe(): Promise<void>;
  /** Before each spawn (e.g. remove a stale socket, write the config). */
  beforeSpawn?(): Promise<void>;
  /** After each start or adoption is ready (e.g. tighten a socket's mode). */
  afterReady?(): Promise<void>;
  onRestart(): void;
  logger: Logger;
  /** How long a new process may take to serve. Default 15 s. */
  readyTimeoutMs?: number;
  /**
   * Text a new process writes to its log once it has really started. Until it shows, an
   * answering probe is not enough: a Caddy whose initial config fails (a port taken) can answer
   * its admin API, with that config, in the moment before it exits.
   */
  startedWhen?: string;
  /** How often an adopted process (no exit event reaches us) is checked. Default 500 ms. */
  watchMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The last lines a process wrote since `from` (its reason for failing to start), and where the log is. */
async function logTail(path: string, from: number): Promise<string> {
  const lines = (await logSince(path, from)).trim().split('\n').filter(Boolean).slice(-3);
  return `${lines.length ? lines.join(' | ') : 'no output'} (log: ${path})`;
}

/** What a process wrote to its log since byte `from` (the log keeps every earlier start's lines too). */
async function logSince(path: string, from: number): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
    const size = (await file.stat()).size;
    if (size <= from) return '';
    const bytes = Buffer.alloc(size - from);
    const { bytesRead } = await file.read(bytes, 0, bytes.length, from);
    return bytes.subarray(0, bytesRead).toString('utf8');
  } catch {
    return '';
  } finally {
    await file?.close();
  }
}

/** What the start-up of one spawned process has seen of it. */
interface StartState {
  exited?: string;
  spawnError?: Error;
  /** Set once it served: an exit after that is a death to restart from. */
  ready: boolean;
}

export class Daemon {
  #child: ChildProcess | undefined;
  #pid: number | undefined;
  #argv: string[] = [];
  #adopted = false;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  readonly #o: DaemonOptions;
  readonly #pidFile: PidFile;

  constructor(o: DaemonOptions) {
    this.#o = o;
    this.#pidFile = new PidFile(o.pidFile);
  }

  /** "caddyPid", "dnsmasqPid": a log key of its own (pino's own `pid` is Tidepool's). */
  get #pidKey(): string {
    return `${this.#o.name}Pid`;
  }

  /** pid of the live process, undefined while there is none. */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** argv of the live process (the adopted one's, when adopted). */
  get argv(): string[] {
    return this.#argv;
  }

  /** Whether the live process was found running rather than started by us. */
  get adopted(): boolean {
    return this.#adopted;
  }

  /** The process recorded in the pid file, when it still runs with exactly that command line. */
  leftRunning(): Promise<{ pid: number; argv: string[] } | undefined> {
    return this.#pidFile.leftRunning();
  }

  /** Adopts the process left running when it is ours and accepted, else spawns one; resolves once it serves. */
  async start(): Promise<void> {
    this.#stopping = false;
    const left = await this.leftRunning();
    if (left && this.#o.accept(left.argv)) {
      try {
        await this.#waitReady(() => undefined, Date.now() + 3_000);
        this.#pid = left.pid;
        this.#argv = left.argv;
        this.#adopted = true;
        await this.#o.afterReady?.();
        this.#watch();
        this.#o.logger.info(
          { [this.#pidKey]: left.pid },
          `${this.#o.name} adopted: the process a previous Tidepool left running`,
        );
        return;
      } catch (err) {
        this.#o.logger.warn(
          { [this.#pidKey]: left.pid, err: errorMessage(err) },
          `${this.#o.name}: the process left running does not serve; ending it`,
        );
        await endProcess(left.pid, 3_000);
      }
    } else if (left) {
      this.#o.logger.warn(
        { [this.#pidKey]: left.pid, argv: left.argv },
        `${this.#o.name}: the process left running has other settings; ending it`,
      );
      await endProcess(left.pid, 3_000);
    }
    await this.#spawnAndWait();
  }

  async #spawnAndWait(): Promise<void> {
    await this.#o.beforeSpawn?.();
    const { child, state, logStart } = await this.#spawn();
    try {
      await this.#waitReady(() => this.#startFailure(state), Date.now() + (this.#o.readyTimeoutMs ?? 15_000), logStart);
    } catch (err) {
      if (child.pid !== undefined && state.exited === undefined)
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      throw err;
    }
    state.ready = true;
    await this.#o.afterReady?.();
  }

  /** Spawns a new process with its output in the log, and records it in the pid file. */
  async #spawn(): Promise<{ child: ChildProcess; state: StartState; logStart: number }> {
    const log = await open(this.#o.logFile, 'a', 0o600);
    const logStart = (await log.stat()).size;
    if (this.#stopping) {
      await log.close();
      throw new ProxyError(`${this.#o.name} supervisor stopped`, 'ProxyUnavailable');
    }
    const argv = [this.#o.binary, ...this.#o.args];
    // Its own session: a Ctrl-C to serve's process group, or serve's death, does not reach it.
    const child = spawn(this.#o.binary, this.#o.args, {
      stdio: ['ignore', log.fd, log.fd],
      env: this.#o.env,
      detached: true,
    });
    child.unref();
    const state: StartState = { ready: false };
    child.on('error', (err) => {
      state.spawnError ??= err;
    });
    child.once('exit', (code, signal) => {
      const exited = signal ? `signal ${signal}` : `exit code ${code}`;
      state.exited = exited;
      if (this.#child === child) this.#pid = undefined;
      if (state.ready && this.#child === child) this.#died(exited);
    });
    await log.close();
    this.#child = child;
    this.#adopted = false;
    if (child.pid !== undefined) {
      this.#pid = child.pid;
      this.#argv = argv;
      await this.#pidFile.record(child.pid, argv);
    }
    return { child, state, logStart };
  }

  /** Why a process being started will not serve (undefined: it may yet); throws when it could not run at all. */
  #startFailure(state: StartState): string | undefined {
    if (state.spawnError)
      throw new ProxyError(`cannot run ${this.#o.binary}: ${state.spawnError.message}`, 'ProxyUnavailable');
    if (state.exited) return `exited during start-up (${state.exited})`;
    return undefined;
  }

  async #waitReady(check: () => string | undefined, deadline: number, logStart?: number): Promise<void> {
    for (;;) {
      const dead = check();
      if (dead)
        throw new ProxyError(
          `${this.#o.name} ${dead}: ${await logTail(this.#o.logFile, logStart ?? 0)}`,
          'ProxyUnavailable',
        );
      let why: string;
      try {
        await this.#o.probe();
        if (await this.#started(logStart)) return;
        why = `it answers, but its log does not say "${this.#o.startedWhen}" yet`;
      } catch (err) {
        why = errorMessage(err);
      }
      if (Date.now() > deadline) {
        const tail = logStart === undefined ? '' : `; ${await logTail(this.#o.logFile, logStart)}`;
        throw new ProxyError(
          `${this.#o.name} did not answer within the start-up timeout: ${why}${tail}`,
          'ProxyUnavailable',
        );
      }
      await sleep(25);
    }
  }

  /** A new process (its log from `logStart`) has said it started, when it is to say so; an adopted one has. */
  async #started(logStart: number | undefined): Promise<boolean> {
    const text = this.#o.startedWhen;
    if (text === undefined || logStart === undefined) return true;
    return (await logSince(this.#o.logFile, logStart)).includes(text);
  }

  /** Adopted processes send no exit event: look at them now and then. */
  #watch(): void {
    clearInterval(this.#watchTimer);
    this.#watchTimer = setInterval(() => {
      const pid = this.#pid;
      if (!this.#adopted || pid === undefined || this.#stopping) return;
      void processArgv(pid).then((argv) => {
        if (this.#stopping || this.#pid !== pid || (argv && argv.join('\0') === this.#argv.join('\0'))) return;
        this.#pid = undefined;
        this.#died('gone');
      });
    }, this.#o.watchMs ?? 500);
    this.#watchTimer.unref();
  }

  #died(how: string): void {
    if (this.#stopping) return;
    this.#o.logger.warn({ how }, `${this.#o.name} exited unexpectedly; restarting`);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#stopping || this.#restartTimer) return;
    const delay = Math.min(50 * 2 ** this.#failures, 10_000);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#spawnAndWait().then(
        () => {
          this.#failures = 0;
          this.#o.logger.info({ [this.#pidKey]: this.#pid }, `${this.#o.name} restarted`);
          this.#o.onRestart();
        },
        (err: Error) => {
          this.#failures++;
          this.#o.logger.error({ err: err.message }, `${this.#o.name} restart failed`);
          this.#scheduleRestart();
        },
      );
    }, delay);
  }

  /** Stops supervising and leaves the process running, for the next Tidepool to adopt. */
  release(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    clearInterval(this.#watchTimer);
    this.#restartTimer = undefined;
  }

  /** Stops supervising and ends the process (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 3_000): Promise<void> {
    this.release();
    const pid = this.#pid;
    this.#pid = undefined;
    if (pid !== undefined) await endProcess(pid, graceMs);
    await this.#pidFile.remove();
  }
}
