// The warm pool (opt-in, `serve --warm-pool TEMPLATE=N`): per image template, N instances kept
// created and started, with the IDE not running yet, so that a new workspace takes one instead
// of waiting for a container to boot. Before a pool instance's first boot, the boot-time link
// of the IDE's unit is removed through the files API (the image itself is unchanged), so
// systemd leaves code-server stopped: an idle pool instance holds about 11 MiB. A take gives the
// instance to the workspace: its resources and its home attached live (Incus adds a disk to a
// running container), the link put back as the image has it, and code-server started (a
// service of user dev). A pool instance never has a home: it is made without one and leaves the
// pool before the workspace's is attached. Pool instances carry this Tidepool's id and
// user.tidepool.warm=<template>; they are no workspace's (never orphans), survive serve's
// shutdown and are adopted by the next start; refills run in the background a few seconds after
// each take (once the taken one's IDE has started) and at every listing (the resync), so one that
// failed or was deleted behind our back comes back.
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../../specs/errors.js';
import { resolveImage, type ImageMap } from '../images.js';
import type { CreateVMRequest, Resources } from '../types.js';
import type { IncusHomes } from './homes.js';
import { formatBytes, instanceBody, type Instance } from './mapping.js';
import {
  CONFIG_ID,
  CONFIG_IMAGE,
  CONFIG_WARM,
  CONFIG_WARM_READY,
  CONFIG_WORKSPACE,
  warmInstanceName,
} from './names.js';
import { isNotFound, type IncusScope } from './scope.js';

/** What an idle pool instance is limited to (and counted as against the capacity budget). */
export const WARM_HOLDS: Resources = { cpu: 1, memoryBytes: 256 * 2 ** 20 };
const IDE_UNIT = '/etc/systemd/system/code-server.service';
const IDE_WANTS = '/etc/systemd/system/multi-user.target.wants/code-server.service';
/** Waits (30 s at most) until systemd has finished booting, on an image that has it: a pool instance is ready then. */
const BOOTED =
  'command -v systemctl >/dev/null || exit 0; i=0; while [ $i -lt 300 ]; do ' +
  'case "$(systemctl is-system-running 2>/dev/null)" in running|degraded) exit 0;; esac; i=$((i+1)); sleep 0.1; done; exit 1';
/**
 * Runs code-server once, away from any home (a scratch HOME, data and extensions folders, on
 * 127.0.0.1:18080), until it listens (10 s at most), then ends it: the files an IDE start reads
 * are then in this instance's page cache, and a take's code-server answers ~0.15-0.2 s sooner
 * (0.55-0.59 s cold, 0.36-0.41 s after this, measured by hand on this image). Images without
 * code-server or bash: nothing.
 */
const PREWARM_IDE_BASH =
  'd=$(mktemp -d); HOME=$d code-server --bind-addr 127.0.0.1:18080 --auth none --disable-telemetry ' +
  '--disable-update-check --config "$d/config.yaml" --user-data-dir "$d/data" --extensions-dir "$d/ext" "$d" ' +
  '>/dev/null 2>&1 & p=$!; i=0; while [ $i -lt 200 ]; do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; ' +
  'sleep 0.05; i=$((i+1)); done; kill $p 2>/dev/null; wait $p 2>/dev/null; rm -rf "$d"; exit 0';
const PREWARM_IDE = `command -v bash >/dev/null && command -v code-server >/dev/null || exit 0; exec bash -c '${PREWARM_IDE_BASH}'`;
/** Puts the boot-time link back and starts the IDE, on an image that has the unit (others: nothing). */
const START_IDE = `if [ -e ${IDE_UNIT} ]; then ln -sf ${IDE_UNIT} ${IDE_WANTS} && systemctl start --no-block code-server.service; fi`;
/**
 * How long after a take the pool waits to refill: a new instance's boot is a burst of CPU that
 * the taken one's IDE start (code-server loading, about 0.5 s) would otherwise share.
 */
export const REFILL_DELAY_MS = 3000;

export interface WarmSettings {
  /** Instances to keep per image template. */
  sizes: Record<string, number>;
  profile: string;
  imageMap: ImageMap;
  log: (msg: string) => void;
}

interface Warm {
  name: string;
  template: string;
  /** Created and started: it can be taken. */
  ready: boolean;
}

export class WarmPool {
  readonly #scope: IncusScope;
  readonly #homes: IncusHomes;
  readonly #s: WarmSettings;
  readonly #items = new Map<string, Warm>();
  readonly #filling = new Set<string>();
  #adopted = false;
  #closed = false;

  constructor(scope: IncusScope, homes: IncusHomes, settings: WarmSettings) {
    this.#scope = scope;
    this.#homes = homes;
    this.#s = settings;
  }

  /** What the pool holds now, one entry per instance (for the capacity budget). */
  reserved(): Resources[] {
    return [...this.#items.values()].map(() => ({ ...WARM_HOLDS }));
  }

  /**
   * The pool instances a listing found. The first time, those of an earlier run are adopted
   * (running, of a template still pooled, up to its size) and the rest deleted; later, the ones
   * gone behind our back are forgotten. Then every template is filled up in the background.
   */
  observe(found: Instance[]): void {
    const names = new Set(found.map((i) => i.name));
    if (!this.#adopted) {
      this.#adopted = true;
      for (const i of found) {
        const template = i.config?.[CONFIG_WARM] ?? '';
        // One a stopped serve left half made (not yet marked ready) is made again.
        const ready = i.status === 'Running' && i.config?.[CONFIG_WARM_READY] === 'true';
        if (ready && this.#count(template) < (this.#s.sizes[template] ?? 0))
          this.#items.set(i.name, { name: i.name, template, ready: true });
        else void this.#delete(i.name);
      }
    } else {
      for (const w of this.#items.values()) if (w.ready && !names.has(w.name)) this.#items.delete(w.name);
    }
    for (const template of Object.keys(this.#s.sizes)) this.#fill(template);
  }

  /**
   * Gives a ready instance of the template to the workspace: resources and home attached live,
   * the IDE started. Returns its name; undefined when none is ready or the take failed (the
   * instance is deleted then, and the caller creates one as usual).
   */
  async take(req: CreateVMRequest): Promise<string | undefined> {
    const w = [...this.#items.values()].find((x) => x.ready && x.template === req.image);
    if (!w) return undefined;
    this.#items.delete(w.name);
    const path = this.#scope.instancePath(w.name);
    try {
      const home = req.home ? { home: await this.#homes.device(req.name) } : {};
      await this.#scope.client.call('PATCH', this.#scope.query(path), {
        config: {
          'limits.cpu': String(req.cpu),
          'limits.memory': formatBytes(req.memoryBytes),
          [CONFIG_WORKSPACE]: req.name,
          [CONFIG_WARM]: '',
          [CONFIG_WARM_READY]: '',
        },
        devices: home,
      });
      const r = await this.#scope.exec(w.name, ['sh', '-c', START_IDE]);
      if (r.exitCode !== 0) throw new Error(`starting the IDE exited ${r.exitCode}: ${r.stderr.trim()}`);
      return w.name;
    } catch (err) {
      this.#s.log(`incus: warm pool: ${w.name} could not become ${req.name}'s (${errorMessage(err)}); deleted`);
      await this.#delete(w.name);
      return undefined;
    } finally {
      this.#fillLater(req.image);
    }
  }

  /** Stops filling; the instances stay for the next start to adopt. */
  close(): void {
    this.#closed = true;
  }

  #fillLater(template: string): void {
    setTimeout(() => this.#fill(template), REFILL_DELAY_MS).unref();
  }

  #count(template: string): number {
    let n = 0;
    for (const w of this.#items.values()) if (w.template === template) n++;
    return n;
  }

  #fill(template: string): void {
    if (this.#closed || this.#filling.has(template)) return;
    this.#filling.add(template);
    void (async () => {
      try {
        while (!this.#closed && this.#count(template) < (this.#s.sizes[template] ?? 0)) await this.#make(template);
      } catch (err) {
        // Tried again at the next take or listing.
        this.#s.log(`incus: warm pool of "${template}" could not be filled: ${errorMessage(err)}`);
      } finally {
        this.#filling.delete(template);
      }
    })();
  }

  async #make(template: string): Promise<void> {
    const image = resolveImage(this.#s.imageMap, 'incus', template);
    const name = warmInstanceName(this.#scope.tidepoolId, randomBytes(4).toString('hex'));
    const w: Warm = { name, template, ready: false };
    this.#items.set(name, w);
    const path = this.#scope.instancePath(name);
    try {
      const body = {
        ...instanceBody({
          name,
          image,
          cpu: WARM_HOLDS.cpu,
          memoryBytes: WARM_HOLDS.memoryBytes,
          config: { [CONFIG_ID]: this.#scope.tidepoolId, [CONFIG_WARM]: template, [CONFIG_IMAGE]: template },
          profile: this.#s.profile,
        }),
        start: false,
      };
      await this.#scope.client.call('POST', this.#scope.query('/1.0/instances'), body, { waitSeconds: 600 });
      await this.#scope.client
        .call('DELETE', this.#scope.query(`${path}/files?path=${encodeURIComponent(IDE_WANTS)}`))
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      await this.#scope.client.call(
        'PUT',
        this.#scope.query(`${path}/state`),
        { action: 'start' },
        { waitSeconds: 120 },
      );
      const booted = await this.#scope.exec(name, ['sh', '-c', BOOTED]);
      if (booted.exitCode !== 0) throw new Error(`${name} did not finish booting in 30 s`);
      // Only a faster take: a failure here leaves a pool instance as good as before.
      await this.#scope.exec(name, ['sh', '-c', PREWARM_IDE], { timeoutSeconds: 30 }).catch(() => undefined);
      // Marked in Incus too, so that an admin (and the next serve, adopting it) can tell.
      await this.#scope.client.call('PATCH', this.#scope.query(path), { config: { [CONFIG_WARM_READY]: 'true' } });
      w.ready = true;
    } catch (err) {
      this.#items.delete(name);
      await this.#delete(name);
      throw err;
    }
  }

  async #delete(name: string): Promise<void> {
    const path = this.#scope.instancePath(name);
    const call = (method: 'PUT' | 'DELETE', p: string, body?: unknown) =>
      this.#scope.client.call(method, this.#scope.query(p), body, { waitSeconds: 120 });
    try {
      await call('PUT', `${path}/state`, { action: 'stop', timeout: 0, force: true }).catch(() => undefined);
      await call('DELETE', path);
    } catch (err) {
      if (!isNotFound(err)) this.#s.log(`incus: warm pool: could not delete ${name}: ${errorMessage(err)}`);
    }
  }
}
