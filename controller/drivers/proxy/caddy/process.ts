// Runs and supervises one `caddy run` with a boot config that only opens the admin API.
// If Caddy dies while we did not ask it to, it is started again (with backoff) and
// onRestart runs, so the caller reloads the route table at once.
//
// Caddy is a child process, not a thread: a Tidepool killed with SIGKILL leaves it running,
// still listening with the old routes. Caddy binds its listeners with SO_REUSEPORT, so the
// Caddy of a restarted Tidepool binds the same ports beside it and the kernel splits the
// connections between the two (observed: 4 requests in 10 answered 502 by the orphan, whose
// API upstream was gone). So the state dir keeps `caddy.pid` ("<caddy pid> <supervisor pid>"),
// and start() ends a Caddy left there by a supervisor that is gone.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ProxyError } from '../types.js';
import type { CaddyAdmin } from './admin.js';
import type { Json } from './config.js';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface CaddyProcessOptions {
  binary: string;
  stateDir: string;
  /** The admin block, the same one every /load sends. */
  admin: { [key: string]: Json };
  /** Client of the admin URL the admin block listens on (to wait for readiness). */
  client: CaddyAdmin;
  logger: Logger;
  onRestart: () => void;
  /** How long to wait for the admin API after spawning. Default 15 s. */
  readyTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (bind 0, read it, close). */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A live process's parent pid and command line (argv joined by spaces); undefined when there is none. */
export async function processInfo(pid: number): Promise<{ ppid: number; args: string } | undefined> {
  if (process.platform === 'linux') {
    try {
      const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[1]);
      const args = cmdline.split('\0').filter(Boolean).join(' ');
      return args ? { ppid, args } : undefined; // a zombie has no command line
    } catch {
      return undefined;
    }
  }
  return new Promise((resolve) => {
    execFile('ps', ['-ww', '-o', 'ppid=', '-o', 'command=', '-p', String(pid)], (err, stdout) => {
      const m = /^\s*(\d+)\s+(.+)$/.exec(stdout.trim());
      resolve(err || !m ? undefined : { ppid: Number(m[1]), args: m[2]! });
    });
  });
}

/** The last lines Caddy wrote since `from` (its reason for failing to start), and where the log is. */
async function logTail(path: string, from: number): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines = text.slice(from).trim().split('\n').filter(Boolean).slice(-3);
  return `${lines.length ? lines.join(' | ') : 'no output'} (log: ${path})`;
}

export class CaddyProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly killOnExit = () => { if (this.child?.pid) try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* gone */ } };

  constructor(private readonly o: CaddyProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get bootConfigPath(): string {
    return join(this.o.stateDir, 'caddy-boot.json');
  }

  /** "<caddy pid> <supervisor pid>" of the Caddy last started for this state dir. */
  get pidFilePath(): string {
    return join(this.o.stateDir, 'caddy.pid');
  }

  /** Spawns Caddy and resolves once its admin API answers; rejects with the tail of Caddy's log otherwise. */
  async start(): Promise<void> {
    this.stopping = false;
    process.on('exit', this.killOnExit);
    await this.endOrphan();
    await this.spawnAndWait();
  }

  /**
   * Ends the Caddy a previous supervisor of this state dir started and left behind when it
   * died (SIGKILL, a crash). Only a process that still runs our boot config and whose parent
   * is no longer that supervisor: a reused pid, or a Caddy whose Tidepool still runs, is left alone.
   */
  private async endOrphan(): Promise<void> {
    const text = await readFile(this.pidFilePath, 'utf8').catch(() => '');
    const [pid, supervisor] = text.trim().split(/\s+/).map(Number);
    if (!(pid! > 0) || !(supervisor! > 0) || pid === process.pid) return;
    // The whole argument, not a prefix: `--config <boot>.bak` is someone else's.
    const ours = (i: { args: string } | undefined) => !!i && `${i.args} `.includes(`--config ${this.bootConfigPath} `);
    const info = await processInfo(pid!);
    if (!ours(info)) return;
    if (info!.ppid === supervisor) {
      const who = supervisor === process.pid ? 'this process (an earlier start)' : `process ${supervisor}`;
      this.o.logger.warn({ caddyPid: pid, supervisor }, `a Caddy of this state dir (${this.o.stateDir}) is run by another live process: ${who}; leaving it`);
      return;
    }
    this.o.logger.warn({ caddyPid: pid, supervisor }, 'ending the Caddy a previous Tidepool left running (it would share the ports with the new one)');
    for (const [signal, waitMs] of [['SIGTERM', 3_000], ['SIGKILL', 3_000]] as const) {
      try { process.kill(pid!, signal); } catch { return; }
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline) {
        if (!ours(await processInfo(pid!))) return;
        await sleep(25);
      }
    }
    throw new ProxyError(`a Caddy left running by a previous Tidepool (pid ${pid}) does not end`, 'ProxyUnavailable');
  }

  private async spawnAndWait(): Promise<void> {
    const dir = this.o.stateDir;
    await mkdir(join(dir, 'caddy-data'), { recursive: true });
    await mkdir(join(dir, 'caddy-config'), { recursive: true });
    await writeFile(this.bootConfigPath, JSON.stringify({ admin: this.o.admin }, null, 2));
    const logPath = join(dir, 'caddy.log');
    const log = await open(logPath, 'a');
    const logStart = (await log.stat()).size;
    if (this.stopping) { // stop() came while we were preparing a restart
      await log.close();
      throw new ProxyError('caddy supervisor stopped', 'ProxyUnavailable');
    }
    const child = spawn(this.o.binary, ['run', '--config', this.bootConfigPath], {
      stdio: ['ignore', log.fd, log.fd],
      // Keep Caddy's storage and autosave away from the user's own Caddy.
      env: { ...process.env, XDG_DATA_HOME: join(dir, 'caddy-data'), XDG_CONFIG_HOME: join(dir, 'caddy-config') },
    });
    this.child = child;
    let exited: string | undefined;
    let spawnError: Error | undefined;
    let ready = false; // before that, a death is this start's failure, not the supervisor's business
    child.on('error', (err) => { spawnError ??= err; });
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`;
      if (ready && this.child === child) this.onExit(exited);
    });
    await log.close(); // the child has its own copy of the descriptor
    // After the handlers above: a spawn error must find its listener.
    if (child.pid !== undefined) await writeFile(this.pidFilePath, `${child.pid} ${process.pid}\n`).catch(() => undefined);

    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 15_000);
    for (;;) {
      if (spawnError) throw new ProxyError(`cannot run ${this.o.binary}: ${spawnError.message}`, 'ProxyUnavailable');
      if (exited) throw new ProxyError(`caddy exited during start-up (${exited}): ${await logTail(logPath, logStart)}`, 'ProxyUnavailable');
      try {
        await this.o.client.call('GET', '/config/');
        ready = true;
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          this.kill(child, 'SIGKILL');
          throw new ProxyError(`caddy admin API did not answer within the start-up timeout: ${(err as Error).message}; ${await logTail(logPath, logStart)}`, 'ProxyUnavailable');
        }
      }
      await sleep(50);
    }
  }

  private onExit(how: string): void {
    if (this.stopping) return;
    this.o.logger.warn({ caddyPid: this.child?.pid, how }, 'caddy exited unexpectedly; restarting');
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    const delay = Math.min(100 * 2 ** this.failures, 10_000);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.spawnAndWait().then(
        () => {
          this.failures = 0;
          this.o.logger.info({ caddyPid: this.child?.pid }, 'caddy restarted');
          this.o.onRestart();
        },
        (err: Error) => {
          this.failures++;
          this.o.logger.error({ err: err.message }, 'caddy restart failed');
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  private kill(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try { process.kill(child.pid, signal); } catch { /* already gone */ }
    }
  }

  /** Stops supervising and ends Caddy (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 3_000): Promise<void> {
    this.stopping = true;
    process.off('exit', this.killOnExit);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    this.kill(child, 'SIGTERM');
    const timer = setTimeout(() => this.kill(child, 'SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
    await rm(this.pidFilePath, { force: true }).catch(() => undefined);
  }
}
