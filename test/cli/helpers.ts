// Runs the real `tidepool` binary (dist/cli/main.js, built by the global setup) as a user
// would: `tidepool serve` as a child process on a free loopback port, and CLI commands
// against it. Every spawned pid is kept so that tests can kill what they started.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}dist/cli/main.js`;

/** The environment without any TIDEPOOL_* of the person running the tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIDEPOOL_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tidepool ARGS` to completion (bounded by `timeoutMs`). */
export function tp(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: opts.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running `tidepool` process (serve, get -w) whose output can be waited on. */
export class Proc {
  stdout = '';
  stderr = '';
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly child: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(BIN, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.stdout += d));
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves when `test` holds for the output so far; rejects after `timeoutMs` or when the process exits first. */
  async waitFor(test: (out: string) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void this.exited.then(() => (gone = true));
    while (!test(this.stdout)) {
      if (gone)
        throw new Error(`process exited before the expected output.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for output.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Ends the process (by its pid) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, signal);
    return this.exited;
  }
}

export interface Served {
  proc: Proc;
  address: string;
  dataDir: string;
}

/**
 * Starts `tidepool serve` on a free loopback port; resolves once every component is up (the
 * "Tidepool is up" log line). Defaults to the stub runtime and the memory proxy: a real
 * controller, no Incus or Caddy needed.
 */
export async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  args: string[] = ['--runtime', 'stub', '--proxy', 'memory'],
  timeoutMs = 30_000,
): Promise<Served> {
  const proc = new Proc(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args], env);
  let address: string | undefined;
  await proc.waitFor((out) => {
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const rec = JSON.parse(line) as { address?: string; ready?: boolean };
        if (rec.ready && rec.address) address = rec.address;
      } catch {
        /* a partial line */
      }
    }
    return address !== undefined;
  }, timeoutMs);
  return { proc, address: address!, dataDir };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
