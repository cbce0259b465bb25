// The saved editor settings (specs/settings.ts), one JSON file in the data directory
// (`settings/editor.json`, 0600), read by the API (export, import) and the controller (save on
// stop and delete, apply to new workspaces). Writes are atomic (a temporary file renamed) and
// one at a time; a file that does not parse or validate is reported, never overwritten silently.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { emptySettings, SettingsProfile } from '../specs/index.js';

export const settingsPath = (dataDir: string) => join(dataDir, 'settings', 'editor.json');

export class SettingsFileError extends Error {
  override readonly name = 'SettingsFileError';
}

export class SettingsFile {
  readonly path: string;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.path = settingsPath(dataDir);
  }

  /** What is saved; empty when nothing was saved yet. Throws SettingsFileError on a damaged file. */
  async read(): Promise<SettingsProfile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptySettings();
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new SettingsFileError(
        `${this.path} is not JSON (${(err as Error).message}); move it aside to start afresh`,
      );
    }
    const first = Value.Errors(SettingsProfile, value).First();
    if (first)
      throw new SettingsFileError(`${this.path}: ${first.path || '/'} ${first.message}; move it aside to start afresh`);
    return value as SettingsProfile;
  }

  /** Replaces what is saved (after the writes before it). */
  write(profile: SettingsProfile): Promise<void> {
    const next = this.#chain.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp-${process.pid}`;
      await writeFile(tmp, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Reads, changes and writes in one turn of the chain (no write in between is lost). */
  update(change: (p: SettingsProfile) => SettingsProfile | undefined): Promise<SettingsProfile | undefined> {
    const next = this.#chain.then(async () => {
      const changed = change(await this.read());
      if (!changed) return undefined;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp-${process.pid}`;
      await writeFile(tmp, `${JSON.stringify(changed, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
      return changed;
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
