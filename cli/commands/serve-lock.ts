// One `tidepool serve` per data directory: two would share the store file (each overwriting
// the other's writes) and fight over the same instances and Caddy. The lock is a pid file
// made with O_EXCL; one left by a process that is gone (kill -9) is taken over.
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../errors.js';

function isServe(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A pid reused by something else after a kill -9 is not a serve.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('serve');
  } catch {
    return true; // no /proc (macOS): alive is all we can tell
  }
}

/** Takes the data directory's lock or throws naming the serve that holds it. Returns the release. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'serve.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        const held = await readFile(path, 'utf8').catch(() => '');
        if (Number(held.trim()) === process.pid) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CliError(`cannot lock ${path}: ${(err as Error).message}`);
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (pid > 0 && pid !== process.pid && isServe(pid)) {
      throw new CliError(`another tidepool serve (pid ${pid}) runs on the data directory ${dataDir}; stop it first, or use another --data-dir`);
    }
    await rm(path, { force: true }); // left by a serve that is gone
  }
  throw new CliError(`cannot lock ${path}: it keeps coming back`);
}
