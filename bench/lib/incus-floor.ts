// The floor of bench/ide: what the same work costs done by hand, straight through the Incus REST
// API on the unix socket, with the same calls Tidepool's driver makes and no controller at all.
// Waiting is honest: the one instance's own state (GET /1.0/instances/NAME/state) is polled for
// its address, never a listing of the host (`incus list NAME` fetches the full state of every
// instance, which slows both sides alike and hides the gap), then code-server's /healthz on it.
import { performance } from 'node:perf_hooks';
import { IncusClient } from '../../drivers/runtime/incus/index.js';
import { ipv4Of, type Instance } from '../../drivers/runtime/incus/mapping.js';

export interface FloorOptions {
  socketPath: string;
  profile: string;
  pool: string;
  /** Image alias of the IDE image. */
  image: string;
  /** Config every instance and volume gets (a mark for cleanup). */
  mark: Record<string, string>;
  /** Poll period, ms. */
  pollMs: number;
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** code-server's own health answer ({"status":"alive"|"expired",...}), not a proxy's page. */
export const isCodeServerHealth = (body: string | undefined) => !!body && /"status"\s*:\s*"(alive|expired)"/.test(body);

export async function directHealth(ip: string, path = '/healthz'): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${ip}:8080${path}`, { signal: AbortSignal.timeout(1000) });
    return await res.text();
  } catch {
    return undefined;
  }
}

export class IncusFloor {
  readonly #client: IncusClient;
  readonly #o: FloorOptions;

  constructor(o: FloorOptions) {
    this.#o = o;
    this.#client = new IncusClient({ socketPath: o.socketPath });
  }

  /** A home volume, then the instance created and started with it attached (one operation): Tidepool's cold create. */
  async create(name: string, cpu: number, memory: string): Promise<void> {
    const volumes = `/1.0/storage-pools/${this.#o.pool}/volumes/custom`;
    await this.#client.call('POST', volumes, { name: `${name}-home`, config: this.#o.mark }, { waitSeconds: 120 });
    const home = { type: 'disk', pool: this.#o.pool, source: `${name}-home`, path: '/home/dev' };
    const body = {
      name,
      type: 'container',
      source: { type: 'image', alias: this.#o.image },
      config: { 'limits.cpu': String(cpu), 'limits.memory': memory, ...this.#o.mark },
      profiles: [this.#o.profile],
      devices: { home },
      start: true,
    };
    await this.#client.call('POST', '/1.0/instances', body, { waitSeconds: 600 });
  }

  async start(name: string): Promise<void> {
    await this.#state(name, { action: 'start' });
  }

  async stop(name: string): Promise<void> {
    await this.#state(name, { action: 'stop', timeout: 30, force: false });
  }

  /** Force stop, delete, and the home volume: Tidepool's delete of a running workspace. */
  async delete(name: string): Promise<void> {
    await this.#state(name, { action: 'stop', timeout: 0, force: true }).catch(() => undefined);
    await this.#client.call('DELETE', `/1.0/instances/${name}`, undefined, { waitSeconds: 120 });
    await this.#client.call('DELETE', `/1.0/storage-pools/${this.#o.pool}/volumes/custom/${name}-home`, undefined, {
      waitSeconds: 120,
    });
  }

  /**
   * Polls the one instance's state until it has an address, then `answers(ip)` until true
   * (default: code-server's /healthz on :8080).
   */
  async ide(name: string, answers = async (ip: string) => isCodeServerHealth(await directHealth(ip))): Promise<string> {
    const deadline = performance.now() + this.#o.timeoutMs;
    let ip: string | undefined;
    for (;;) {
      if (!ip) {
        const state = await this.#client.call<Instance['state']>('GET', `/1.0/instances/${name}/state`);
        ip = ipv4Of({ name, status: state?.status ?? '', state });
      }
      if (ip && (await answers(ip))) return ip;
      if (performance.now() > deadline) throw new Error(`${name}: no IDE after ${this.#o.timeoutMs / 1000} s`);
      await sleep(this.#o.pollMs);
    }
  }

  /** Whatever a failed run left with this mark: instances first, then volumes. */
  async cleanup(): Promise<void> {
    const [key, value] = Object.entries(this.#o.mark)[0]!;
    const mine = (c: Record<string, string> | undefined) => c?.[key] === value;
    const all = await this.#client.call<Instance[]>('GET', '/1.0/instances?recursion=1');
    for (const i of all ?? []) if (mine(i.config)) await this.delete(i.name).catch(() => undefined);
    const vols = await this.#client.call<{ name: string; config?: Record<string, string> }[]>(
      'GET',
      `/1.0/storage-pools/${this.#o.pool}/volumes/custom?recursion=1`,
    );
    for (const v of vols ?? [])
      if (mine(v.config))
        await this.#client
          .call('DELETE', `/1.0/storage-pools/${this.#o.pool}/volumes/custom/${v.name}`, undefined, {
            waitSeconds: 120,
          })
          .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #state(name: string, body: Record<string, unknown>): Promise<void> {
    await this.#client.call('PUT', `/1.0/instances/${name}/state`, body, { waitSeconds: 120 });
  }
}
