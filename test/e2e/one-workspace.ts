// A real `tidepool serve` on the real Incus (memory proxy) with one Ready workspace of the minimal
// image, for the suites that drive a workspace through the API or the CLI (exec, its frames,
// shutdown). Its instances carry a Tidepool id written before serve starts, so close() deletes
// them and their homes by it, and ends serve by its pid.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, INCUS_SOCKET } from '../incus/helpers.js';
import { presetId } from './incus-helpers.js';

export interface OneWorkspace {
  served: Served;
  /** The CLI's environment: this serve's address, data directory and credentials. */
  env: NodeJS.ProcessEnv;
  cli(args: string[], input?: string): ReturnType<typeof tp>;
  /** Ends serve (with `signal`), then deletes its instances and homes and the scratch folder. */
  close(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts serve and makes workspace `name` (1 vCPU, 256 MiB, minimal image), Ready. */
export async function oneWorkspace(
  tag: string,
  name: string,
  credentials?: { user: string; password: string },
): Promise<OneWorkspace> {
  const scratch = await mkdtemp(join(tmpdir(), `tp-e2e-${tag}-`));
  const dataDir = join(scratch, 'data');
  const id = await presetId(dataDir, tag);
  const base = cleanEnv({
    XDG_DATA_HOME: join(scratch, 'xdg'),
    ...(credentials ? { TIDEPOOL_USER: credentials.user, TIDEPOOL_PASSWORD: credentials.password } : {}),
  });
  const served = await startServe(
    dataDir,
    base,
    ['--runtime', 'incus', '--incus-socket', INCUS_SOCKET, '--proxy', 'memory', '--cpu-budget', '64'],
    60_000,
  );
  const env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
  const cli = (args: string[], input?: string) =>
    tp(args, { env, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const close = async (signal?: NodeJS.Signals) => {
    await served.proc.stop(signal).catch(() => undefined);
    // The instance first, then its home volume (it outlives the instance by design).
    await deleteByTidepoolId(id);
    await deleteVolumesByTidepoolId(id);
    await rm(scratch, { recursive: true, force: true });
  };
  const manifest = `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: ${name}}\nspec: {image: minimal, resources: {cpu: 1, memory: 256Mi}}\n`;
  try {
    expect((await cli(['apply', '-f', '-'], manifest)).code).toBe(0);
    const w = await cli(['wait', `workspace/${name}`, '--for=condition=Ready', '--timeout=90s']);
    expect(w.stderr).toBe('');
  } catch (err) {
    await close();
    throw err;
  }
  return { served, env, cli, close };
}
