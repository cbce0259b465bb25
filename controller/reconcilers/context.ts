// What every reconciler is given: the store, the drivers, and the controller's shared
// views of the world. Reconcilers do I/O only through these.
import type { EditorSettings, StoreClient } from '../../store/index.js';
import type { ImageBuilds } from '../builds.js';
import type { Capacity } from '../capacity/index.js';
import type { ProxyDriver } from '../../drivers/proxy/types.js';
import type { RuntimeDriver } from '../../drivers/runtime/types.js';
import type { EventRecorder } from '../events/index.js';
import type { IdeHealth } from '../ide-health.js';
import type { Orphans } from '../orphans.js';
import type { Clock, RateLimitingQueue } from '../queue/index.js';
import type { RouteState } from '../route-state.js';
import type { StatusWriter } from '../status.js';
import type { Logger, Probe } from '../types.js';
import type { VMCache } from '../vm-cache.js';
import type { Activity } from '../idle/activity.js';
import type { Sleepers } from '../idle/sleepers.js';

export interface Context {
  store: StoreClient;
  runtime: RuntimeDriver;
  proxy: ProxyDriver;
  vms: VMCache;
  status: StatusWriter;
  routes: RouteState;
  capacity: Capacity;
  events: EventRecorder;
  queue: RateLimitingQueue;
  clock: Clock;
  logger: Logger;
  probe: Probe;
  /** Keeps probing the IDEs of Ready workspaces and enqueues the ones that stop (or start again) answering. */
  ide: IdeHealth;
  ideTimeoutMs: number;
  /** The port the IDE answers on in each VM (IDE_PORT unless configured). */
  idePort: number;
  /** Enqueues the route table key after the gathering delay. */
  enqueueRoutes(): void;
  /** When each workspace began waiting for its IDE (in memory; a restart begins again). */
  ideWaitSince: Map<string, number>;
  /** What this Tidepool made for names no Workspace declares: kept, reported, deleted only when asked. */
  orphans: Orphans;
  /** Which workspaces sleep, and the server's idle settings. */
  sleepers: Sleepers;
  /** When each signal last saw each workspace used (for the idle ticks). */
  activity: Activity;
  /** The saved editor settings of each namespace, when they follow the user (ControllerOptions.settings). */
  settings?: EditorSettings;
  /** The start (status.lastStartedTime) whose devcontainer postStart ran, per workspace (in memory; the guest's own marker keeps it once per boot). */
  postStartDone: Map<string, string>;
  /** The server's dotfiles for new workspaces that name none (serve --dotfiles). */
  defaultDotfiles?: { url: string; ref?: string };
  /** The ImageTemplate builds in flight (one at a time, beside the workers). */
  builds: ImageBuilds;
}

/** How often a workspace waiting on the runtime or its IDE looks again, at most. (A look while
 * waiting for the IDE is one refused connect; for the IP, one look at that instance alone.) */
export const POLL_MS = 250;
/** The first looks come sooner (a stub or a fast runtime has an IP at once): from this, growing to POLL_MS. */
export const MIN_POLL_MS = 50;

/** When to look again at a workspace that has waited since `since`: soon at first, then every POLL_MS. */
export function pollMs(ctx: Context, since: number | undefined): number {
  const waited = since === undefined ? 0 : ctx.clock.now() - since;
  return Math.min(POLL_MS, Math.max(MIN_POLL_MS, Math.round(waited / 8)));
}

/**
 * How often the IDE port of a workspace that has its IP is probed: a probe is one connection on
 * the bridge (refused until code-server listens), not a runtime call, so it can come every
 * IDE_PROBE_MS. The period grows with the number of workspaces waiting for their IDE, keeping
 * the probes of the whole host near 1000 / IDE_PROBE_MS a second, and never exceeds `pollMs`,
 * the workspace's runtime poll (pollMs(), which the caller has at hand).
 */
export const IDE_PROBE_MS = 25;

export function ideProbeMs(ctx: Context, pollMs: number): number {
  const now = ctx.clock.now();
  let waiting = 0;
  for (const t of ctx.ideWaitSince.values()) if (now - t < ctx.ideTimeoutMs) waiting++;
  return Math.min(pollMs, IDE_PROBE_MS * Math.max(1, waiting));
}

/** Status fields the workspace reconciler writes; any other (lastAccessTime) belongs to another writer and is kept as stored. */
const OWNED_STATUS = new Set([
  'phase',
  'observedGeneration',
  'ip',
  'url',
  'instance',
  'node',
  'lastStartedTime',
  'conditions',
  'sleep',
]);

/** `status` with the fields it does not own taken from the stored object as it is now (not as it was read). */
export function keepForeignStatus<S extends object>(ctx: Context, name: string, status: S): S {
  const stored = (ctx.store.get('Workspace', name)?.status ?? {}) as Record<string, unknown>;
  const out = { ...status } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (!OWNED_STATUS.has(k) && !(k in stored)) delete out[k];
  for (const [k, v] of Object.entries(stored)) if (!OWNED_STATUS.has(k)) out[k] = v;
  return out as S;
}
/** How often it looks once the IDE timeout has passed. */
export const SLOW_POLL_MS = 10_000;
/** Held by every Workspace until its VM is deleted. */
export const FINALIZER = 'tidepool/vm';
