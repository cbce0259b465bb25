// The lifecycle of an IDE workspace in bench/ide, timed on both sides in the same rounds:
// Tidepool (apply, a start of the stopped workspace, a delete with its home, each until the
// effect shows through Caddy or the API) against its floor (the same Incus calls by hand,
// bench/lib/incus-floor.ts). Rounds rotate which side goes first.
import { performance } from 'node:perf_hooks';
import type { Api, Ports } from '../../test/e2e/incus-helpers.js';
import { viaCaddy, workspace } from '../../test/e2e/incus-helpers.js';
import { watchAddress } from './address-watch.js';
import { median } from './median.js';
import { isCodeServerHealth, type IncusFloor } from './incus-floor.js';

export interface Lifecycle {
  /** Create → IDE answering. */
  create: number;
  /** Start of the stopped workspace → IDE answering. */
  start: number;
  /** Delete, home included, → gone. */
  delete: number;
}

export type Until = (what: string, fn: () => Promise<boolean>) => Promise<void>;

export interface RoundsSetup {
  rounds: number;
  api: Api;
  ports: Ports;
  floor: IncusFloor;
  until: Until;
  /** Workspace spec (IDE image template, resources). */
  spec: { image: string; resources: { cpu: number; memory: string } };
  /** Incus memory string of the same resources, for the floor. */
  floorMemory: string;
  /** Prefix of the floor's instance names. */
  mark: string;
}

const since = (t0: number) => performance.now() - t0;

/** GET /workspace/NAME/healthz through Caddy until code-server answers it. */
export const throughCaddy = (until: Until, ports: Ports, name: string) =>
  until(`${name} through Caddy`, async () =>
    isCodeServerHealth((await viaCaddy(ports, `/workspace/${name}/healthz`, true, 2000))?.body),
  );

/**
 * `act` (an apply or a start), then the IDE through Caddy, as the floor waits: first for the
 * address (the API's watch stream, ./address-watch.ts; the floor polls the instance's state),
 * then the IDE every 50 ms (through Caddy; the floor on :8080).
 */
export async function actThenIde(api: Api, until: Until, ports: Ports, name: string, act: () => Promise<unknown>) {
  const watch = watchAddress(api, name, 120_000);
  try {
    await act();
    await watch.shown;
  } finally {
    watch.close();
  }
  await throughCaddy(until, ports, name);
}

async function tidepoolLifecycle(s: RoundsSetup, name: string): Promise<Lifecycle> {
  const { api, until } = s;
  let t0 = performance.now();
  await actThenIde(api, until, s.ports, name, () => api.apply([workspace(name, s.spec)]));
  const create = since(t0);
  await api.setRunning(name, false);
  await until(`${name} Stopped`, async () => (await api.get('workspaces', name))?.status?.phase === 'Stopped');
  t0 = performance.now();
  await actThenIde(api, until, s.ports, name, () => api.setRunning(name, true));
  const start = since(t0);
  t0 = performance.now();
  await api.delete('workspaces', name);
  // The finalizer goes after the instance and its home: the object gone means both are.
  await until(`${name} deleted`, async () => !(await api.get('workspaces', name)));
  return { create, start, delete: since(t0) };
}

async function floorLifecycle(s: RoundsSetup, name: string): Promise<Lifecycle> {
  const { floor } = s;
  let t0 = performance.now();
  await floor.create(name, s.spec.resources.cpu, s.floorMemory);
  await floor.ide(name);
  const create = since(t0);
  await floor.stop(name);
  t0 = performance.now();
  await floor.start(name);
  await floor.ide(name);
  const start = since(t0);
  t0 = performance.now();
  await floor.delete(name);
  return { create, start, delete: since(t0) };
}

/** Both sides' lifecycles, `rounds` times, interleaved. */
export async function lifecycleRounds(s: RoundsSetup): Promise<{ tidepool: Lifecycle[]; floor: Lifecycle[] }> {
  const tidepool: Lifecycle[] = [];
  const floor: Lifecycle[] = [];
  for (let round = 0; round < s.rounds; round++) {
    const ours = async () => tidepool.push(await tidepoolLifecycle(s, `ide${round}`));
    const theirs = async () => floor.push(await floorLifecycle(s, `${s.mark}-f${round}`));
    for (const side of round % 2 === 0 ? [ours, theirs] : [theirs, ours]) await side();
  }
  return { tidepool, floor };
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Prints one measure: both sides' times, the ratio of the medians and each round's ratio. */
export function report(label: string, ours: number[], floor: number[], floorLabel: string, target: string): void {
  const rounds = ours.map((t, i) => `${(t / floor[i]!).toFixed(2)}x`).join(' / ');
  console.log(`${label}: ${ours.map(secs).join(' / ')}`);
  console.log(`  floor, ${floorLabel}: ${floor.map(secs).join(' / ')}`);
  console.log(`  ratio of medians ${(median(ours) / median(floor)).toFixed(2)}x (rounds: ${rounds}; target ${target})`);
}

export interface WarmSetup {
  rounds: number;
  until: Until;
  spec: RoundsSetup['spec'];
  /** A serve with a warm pool of the spec's template, and one without. */
  warm: { api: Api; ports: Ports };
  cold: { api: Api; ports: Ports };
  /** Resolves once the pool is full and booted again (not timed). */
  poolReady: () => Promise<void>;
}

/** Apply → IDE answering through Caddy, with the warm pool and without, interleaved. */
export async function warmRounds(s: WarmSetup): Promise<{ warm: number[]; cold: number[] }> {
  const out = { warm: [] as number[], cold: [] as number[] };
  const once = async (side: 'warm' | 'cold', name: string) => {
    const { api, ports } = s[side];
    if (side === 'warm') await s.poolReady();
    const t0 = performance.now();
    await actThenIde(api, s.until, ports, name, () => api.apply([workspace(name, s.spec)]));
    out[side].push(since(t0));
    await api.delete('workspaces', name);
    await s.until(`${name} deleted`, async () => !(await api.get('workspaces', name)));
  };
  for (let round = 0; round < s.rounds; round++) {
    const sides = round % 2 === 0 ? (['warm', 'cold'] as const) : (['cold', 'warm'] as const);
    for (const side of sides) await once(side, `${side}${round}`);
  }
  return out;
}
