// One namespace's saved editor settings (specs/settings.ts), one JSON file in the data directory
// (0600), read by the API (export, import) and the controller (save on stop and delete, apply to
// new workspaces). A namespace is one person's, so each has its own file (store/editor-settings.ts
// hands them out): the default namespace keeps the path a single-user install always had
// (`settings/editor.json`), any other is `settings/namespaces/<ns>/editor.json`. Writes are atomic
// (a temporary file renamed) and one at a time; a file that does not parse or validate is
// reported, never overwritten silently.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_NAMESPACE, emptySettings, isDnsLabel, SettingsProfile } from '../specs/index.js';

/** Where `namespace`'s settings are kept; the namespace must be a DNS label (it becomes a folder name). */
export function settingsPath(dataDir: string, namespace: string = DEFAULT_NAMESPACE): string {
  if (!isDnsLabel(namespace))
    throw new SettingsFileError(`namespace "${namespace.slice(0, 100)}" is not a DNS label: no settings file for it`);
  if (namespace === DEFAULT_NAMESPACE) return join(dataDir, 'settings', 'editor.json');
  return join(dataDir, 'settings', 'namespaces', namespace, 'editor.json');
}

export class SettingsFileError extends Error {
  override readonly name = 'SettingsFileError';
}

export class SettingsFile {
  readonly path: string;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string, namespace: string = DEFAULT_NAMESPACE) {
    this.path = settingsPath(dataDir, namespace);
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
    const next = this.#chain.then(() => this.#replace(profile));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Reads, changes and writes in one turn of the chain (no write in between is lost). */
  update(change: (p: SettingsProfile) => SettingsProfile | undefined): Promise<SettingsProfile | undefined> {
    const next = this.#chain.then(async () => {
      const changed = change(await this.read());
      if (!changed) return undefined;
      await this.#replace(changed);
      return changed;
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #replace(profile: SettingsProfile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
