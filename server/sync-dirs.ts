// `tidepool serve --sync-dir DIR|NAME=DIR` (repeatable): the flag's grammar, and starting
// one sync per flag. Parsing is pure; the syncs themselves live in gitops/.
import { resolve } from 'node:path';
import {
  nameForFolder,
  startSyncFolders,
  type SyncFolder,
  type SyncOptions,
  type SyncsHandle,
} from '../gitops/index.js';

/**
 * `NAME=DIR`, `DIR` (named after the folder's base name, made a DNS label), or `NS/NAME=DIR`:
 * the sync NAME applies DIR into namespace NS (kubectl's namespace/name), and refuses an object
 * naming another namespace. Without NS, into `default`. Sync names are the whole server's.
 */
export function parseSyncDirFlag(value: string): SyncFolder {
  const label = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
  const m = new RegExp(`^(?:(${label})/)?(${label})=(.+)$`).exec(value);
  if (m) return { name: m[2]!, dir: resolve(m[3]!), ...(m[1] !== undefined ? { namespace: m[1] } : {}) };
  const eq = value.indexOf('=');
  if (eq > 0 && !/[\\/]/.test(value.slice(0, eq))) {
    throw new Error(
      `--sync-dir ${value}: the name before "=" must be a DNS label (lowercase letters, digits and '-', 1..63, starting and ending alphanumeric)`,
    );
  }
  if (!value) throw new Error('--sync-dir needs a folder: DIR or NAME=DIR');
  return { name: nameForFolder(resolve(value)), dir: resolve(value) };
}

/** Every flag value parsed; two flags naming one sync are refused. */
export function parseSyncDirFlags(flags: readonly string[]): SyncFolder[] {
  const wanted = flags.map(parseSyncDirFlag);
  const seen = new Map<string, string>();
  for (const w of wanted) {
    const other = seen.get(w.name);
    if (other !== undefined) {
      throw new Error(
        `--sync-dir: two folders would be the sync "${w.name}" (${other} and ${w.dir}); name them: --sync-dir NAME=DIR`,
      );
    }
    seen.set(w.name, w.dir);
  }
  return wanted;
}

/**
 * `tidepool serve --sync-dir A --sync-dir prod=B`: starts one sync per flag value (all with
 * the same options). Two flags naming one sync are refused before anything starts; when one
 * cannot start, those started already are stopped again.
 */
export async function startSyncs(
  flags: readonly string[],
  common: Omit<SyncOptions, 'name' | 'dir'>,
): Promise<SyncsHandle> {
  return startSyncFolders(parseSyncDirFlags(flags), common);
}
