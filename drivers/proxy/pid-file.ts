// What outlives the Tidepool that starts a data-plane process: its pid file (`{"pid": N,
// "argv": [...]}`), by which the next Tidepool finds the process left running, and the few
// process look-ups a supervisor needs (a pid's command line, ending a pid without ending a
// process that reused it).
import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A live process's argv; undefined when there is none (or a zombie). */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  if (process.platform === 'linux') {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0').filter(Boolean);
    return argv.length ? argv : undefined;
  }
  return new Promise((resolve) => {
    execFile('ps', ['-ww', '-o', 'command=', '-p', String(pid)], (err, stdout) => {
      resolve(err || !stdout.trim() ? undefined : stdout.trim().split(/\s+/));
    });
  });
}

/** Whether `pid` has finished exiting: no such process, or only its zombie (or, off Linux, no command line). */
async function exited(pid: number): Promise<boolean> {
  if (process.platform !== 'linux') return (await processArgv(pid)) === undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** Ends `pid` (SIGTERM, then SIGKILL after `graceMs`); stops as soon as it is gone or its pid holds another program. */
export async function endProcess(pid: number, graceMs: number): Promise<void> {
  const argv = await processArgv(pid);
  for (const [signal, waitMs] of [
    ['SIGTERM', graceMs],
    ['SIGKILL', 3_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (await exited(pid)) return;
      // Another program under the same pid: ours is long gone. (A process that is exiting has
      // an empty command line but still holds its sockets: that one is waited for.)
      const now = await processArgv(pid);
      if (now && now.join('\0') !== argv?.join('\0')) return;
      await sleep(25);
    }
  }
}

export class PidFile {
  constructor(readonly path: string) {}

  /** The process recorded, when it still runs with exactly the command line recorded. */
  async leftRunning(): Promise<{ pid: number; argv: string[] } | undefined> {
    let rec: { pid?: unknown; argv?: unknown };
    try {
      rec = JSON.parse(await readFile(this.path, 'utf8')) as typeof rec;
    } catch {
      return undefined;
    }
    if (typeof rec.pid !== 'number' || !Array.isArray(rec.argv) || rec.pid === process.pid) return undefined;
    const live = await processArgv(rec.pid);
    if (!live || live.join('\0') !== (rec.argv as string[]).join('\0')) return undefined; // gone, or a reused pid
    return { pid: rec.pid, argv: rec.argv as string[] };
  }

  /** Records a new process (atomically: a reader never sees half a record). */
  async record(pid: number, argv: string[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify({ pid, argv }), { mode: 0o600 });
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}
