// Shared set-up for the reconciler tests: a real Store in a temp dir, the stub runtime,
// the memory proxy, and controllers that are stopped after each test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../store/index.js';
import { createMemoryProxy, type MemoryProxy } from '../../drivers/proxy/memory/index.js';
import { createStubRuntime, type StubRuntime, type StubRuntimeOptions } from '../../drivers/runtime/stub/index.js';
import {
  ExponentialBackoff,
  startController,
  type Controller,
  type ControllerOptions,
} from '../../controller/index.js';
import { validateManifest, type Condition, type Event, type Port, type Workspace } from '../../specs/index.js';
import { poll } from '../poll.js';

export const GiB = 2 ** 30;

export function workspace(name: string, spec: Record<string, unknown> = {}): Workspace {
  const r = validateManifest({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as Workspace;
}

export function port(name: string, ws: string, n: number): Port {
  const r = validateManifest({
    apiVersion: 'tidepool/v1',
    kind: 'Port',
    metadata: { name },
    spec: { workspace: ws, port: n },
  });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as Port;
}

export function cond(o: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

/** Polls `fn` until it returns something truthy; fails with `what` and the last value after `timeoutMs`. */
export const waitFor = <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> =>
  poll(what, fn, timeoutMs, 10) as Promise<NonNullable<T>>;

export interface Harness {
  dir: string;
  store: Store;
  runtime: StubRuntime;
  proxy: MemoryProxy;
  start(extra?: Partial<ControllerOptions>): Promise<Controller>;
  ws(name: string): Workspace | undefined;
  /** Changes a Workspace's spec fields (a user's update). */
  setSpec(name: string, spec: Record<string, unknown>): Promise<void>;
  /** Waits until workspace `name` is Ready=True and returns it. */
  ready(name: string, timeoutMs?: number): Promise<Workspace>;
  close(): Promise<void>;
}

export async function harness(stub: StubRuntimeOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-controller-'));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createStubRuntime(stub);
  const proxy = createMemoryProxy();
  const controllers: Controller[] = [];
  const h: Harness = {
    dir,
    store,
    runtime,
    proxy,
    async start(extra = {}) {
      const c = await startController({
        store,
        runtime,
        proxy,
        dataDir: dir,
        probe: runtime.probe,
        resyncPeriodMs: 3_600_000,
        capacity: { maxRunning: 100, cpuBudget: 1000, memoryBudgetBytes: 1024 * GiB },
        backoff: new ExponentialBackoff({ baseMs: 20, capMs: 400 }),
        routesDelayMs: 10,
        ...extra,
      });
      controllers.push(c);
      return c;
    },
    ws: (name) => store.get('Workspace', name),
    async setSpec(name, spec) {
      const cur = store.get('Workspace', name)!;
      await store.update({ ...structuredClone(cur), spec: { ...structuredClone(cur.spec), ...spec } });
    },
    ready: (name, timeoutMs) =>
      waitFor(
        `workspace ${name} Ready`,
        () => {
          const w = store.get('Workspace', name);
          return cond(w, 'Ready')?.status === 'True' ? w : undefined;
        },
        timeoutMs,
      ),
    async close() {
      await Promise.all(controllers.map((c) => c.stop()));
      await runtime.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Events about `name` in the store, oldest first. */
export function eventsFor(store: Store, name: string): Event[] {
  return store
    .list('Event')
    .items.filter((e) => e.regarding.name === name)
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}
