// Shared by the Incus integration tests and bench/runtime.ts: is a usable Incus here, and
// how to clean up after a run. The tests skip (with a message) only when Incus is absent
// and TIDEPOOL_REQUIRE_INCUS is unset; CI sets it, so there they must run.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { IncusClient, DEFAULT_INCUS_SOCKET, CONFIG_ID } from '../../drivers/runtime/incus/index.js';
import { MINIMAL_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { poll } from '../poll.js';

export const INCUS_SOCKET = process.env.TIDEPOOL_INCUS_SOCKET ?? DEFAULT_INCUS_SOCKET;
export const PROFILE = process.env.TIDEPOOL_PROFILE ?? 'tidepool';
export const BRIDGE_PREFIX = (process.env.TIDEPOOL_SUBNET ?? '10.77.0.1/24').replace(/\.\d+\/\d+$/, '.');

export type Probe = { ok: true } | { ok: false; why: string };

/** Incus reachable, with the Tidepool profile and the minimal image that scripts/setup-host.sh creates. */
export async function probeIncus(): Promise<Probe> {
  if (!existsSync(INCUS_SOCKET)) return { ok: false, why: `no Incus socket at ${INCUS_SOCKET}` };
  const client = new IncusClient({ socketPath: INCUS_SOCKET, requestTimeoutMs: 5000 });
  try {
    await client.call('GET', '/1.0');
    try {
      await client.call('GET', `/1.0/profiles/${PROFILE}`);
    } catch {
      return { ok: false, why: `Incus has no profile "${PROFILE}"` };
    }
    try {
      await client.call('GET', `/1.0/images/aliases/${MINIMAL_IMAGE_ALIAS}`);
    } catch {
      return { ok: false, why: `Incus has no image alias "${MINIMAL_IMAGE_ALIAS}"` };
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  } finally {
    await client.close();
  }
}

/** Throws when Incus is required but unusable; otherwise says whether to run. */
export async function requireOrSkip(suite: string): Promise<boolean> {
  const probe = await probeIncus();
  if (probe.ok) return true;
  const msg = `${suite}: Incus is not usable (${probe.why}); run \`bash scripts/setup-host.sh\` as root`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return false;
}

interface RawInstance {
  name: string;
  config?: Record<string, string>;
}

/** Force-deletes every instance carrying user.tidepool.id=<id> (and any extra names given). */
export async function deleteByTidepoolId(id: string, extraNames: string[] = []): Promise<string[]> {
  const client = new IncusClient({ socketPath: INCUS_SOCKET });
  try {
    const all = await client.call<RawInstance[]>('GET', '/1.0/instances?recursion=1');
    const doomed = all.filter((i) => i.config?.[CONFIG_ID] === id || extraNames.includes(i.name)).map((i) => i.name);
    await Promise.all(doomed.map((n) => execa('incus', ['delete', '--force', n], { reject: false, stdin: 'ignore' })));
    return doomed;
  } finally {
    await client.close();
  }
}

/** Deletes every custom storage volume (a home) carrying user.tidepool.id=<id>, on every pool; call after its instances are gone. */
export async function deleteVolumesByTidepoolId(id: string): Promise<string[]> {
  const client = new IncusClient({ socketPath: INCUS_SOCKET });
  type Volume = { name: string; type: string; config?: Record<string, string> };
  try {
    const pools = await client.call<string[]>('GET', '/1.0/storage-pools');
    const gone: string[] = [];
    for (const pool of pools) {
      const vols = await client.call<Volume[]>('GET', `${pool}/volumes?recursion=1`);
      for (const v of vols.filter((x) => x.type === 'custom' && x.config?.[CONFIG_ID] === id)) {
        await client.call('DELETE', `${pool}/volumes/custom/${encodeURIComponent(v.name)}`).catch(() => undefined);
        gone.push(v.name);
      }
    }
    return gone;
  } finally {
    await client.close();
  }
}

/** A unique Tidepool id for one test run. */
export const runId = (tag: string) => `${tag}-${process.pid}-${Date.now().toString(36)}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a value (not undefined) or the deadline passes (then throws with the last state). */
export const until = <T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> => poll(what, fn, timeoutMs, everyMs) as Promise<T>;

/** GET http://ip:port/ from the host (the project's own bridge); the body, or undefined if it fails. */
export async function httpGet(
  ip: string,
  port = 8080,
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | undefined> {
  // Network rule: only instances on the project's own bridge.
  if (!ip.startsWith(BRIDGE_PREFIX))
    throw new Error(`refusing to send traffic to ${ip}: not on the Tidepool bridge ${BRIDGE_PREFIX}0/24`);
  try {
    const res = await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}
