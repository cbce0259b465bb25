// One `tidepool serve` per data directory: two would share the store file (each overwriting
// the other's writes) and fight over the same instances and Caddy. The lock is a pid file
// put in place atomically; one left by a process that is gone (kill -9) is taken over.
import { readFileSync } from 'node:fs';
import { link, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServeError } from './errors.js';
import { errorMessage } from '../specs/errors.js';

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

/**
 * Takes the data directory's lock or throws naming the serve that holds it. Returns the release.
 * The pid file appears whole (written aside, then hard-linked into place, which fails when it
 * exists); a stale one is replaced only under a takeover guard, so two serves starting at once
 * over the same dead pid cannot both win.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'serve.pid');
  const mine = `${path}.${process.pid}.tmp`;
  const guard = `${path}.takeover`;
  const release = async () => {
    const held = await readFile(path, 'utf8').catch(() => '');
    if (Number(held.trim()) === process.pid) await rm(path, { force: true });
  };
  const holder = async () => Number((await readFile(path, 'utf8').catch(() => '')).trim());
  const refuse = (pid: number) =>
    new ServeError(
      `another tidepool serve (pid ${pid}) runs on the data directory ${dataDir}; stop it first, or use another --data-dir`,
    );
  try {
    await writeFile(mine, `${process.pid}\n`, { mode: 0o644 });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        await link(mine, path);
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = await holder();
      if (pid > 0 && pid !== process.pid && isServe(pid)) throw refuse(pid);
      // Stale (its serve is gone): replace it under the guard, if it is still the same stale one.
      try {
        await (await open(guard, 'wx')).close();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = Date.now() - ((await stat(guard).catch(() => undefined))?.mtimeMs ?? Date.now());
        if (age > 10_000) await rm(guard, { force: true }); // left by a serve killed mid-takeover
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        if ((await holder()) === pid) await rm(path, { force: true });
      } finally {
        await rm(guard, { force: true });
      }
    }
    throw new ServeError(`cannot lock ${path}: another serve keeps taking it`);
  } catch (err) {
    if (err instanceof ServeError) throw err;
    throw new ServeError(`cannot lock ${path}: ${errorMessage(err)}`);
  } finally {
    await rm(mine, { force: true });
  }
}
