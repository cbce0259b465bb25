// bench/proxy.ts --controller: Tidepool's converge time through the real controller
// (store + stub runtime + Caddy driver). The controller is loaded at run time and typed
// here by the little the bench needs, so the bench still builds while it evolves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaddyProxy } from '../../controller/drivers/proxy/caddy/index.js';
import type { ProxyDriver, RouteTable } from '../../controller/drivers/proxy/types.js';
import { PORTS_PER_WORKSPACE } from './caddy-bench.js';

interface Tx { create(obj: unknown): unknown }
interface StoreLike { transaction<T>(fn: (tx: Tx) => T): Promise<T>; close(): Promise<void> }
interface StubLike { probe(ip: string, port: number): Promise<boolean>; close(): Promise<void> }
interface ControllerLike { resync(): Promise<void>; idle(): Promise<void>; stop(): Promise<void> }

export interface ControllerFigures {
  /** Store write of every Workspace and Port until Caddy serves all routes (VM creation included). */
  endToEndSeconds: number | undefined;
  /** Caddy emptied behind Tidepool's back, then one resync: until Caddy serves all routes again. */
  resyncSeconds: number | undefined;
  /** Of resyncSeconds, the part from the routes reconcile's read() to Caddy holding the table. */
  resyncDriverSeconds?: number;
  /** kill -9 of the supervised Caddy: until the restarted Caddy serves all routes again. */
  killSeconds: number | undefined;
  /** Of killSeconds, the part from the driver telling the controller (Caddy is back, empty) to the table live: the routes key alone. */
  killRoutesSeconds?: number;
  note?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isFull = (t: RouteTable | null, workspaces: number) =>
  !!t && t.workspaces.length === workspaces && t.ports.length === workspaces * PORTS_PER_WORKSPACE.length;

/**
 * The driver as the controller sees it, stamping when Caddy holds the full table: when an
 * apply of it resolves, or a read finds it live (nothing to apply).
 */
function stamping(proxy: CaddyProxy, workspaces: number): { driver: ProxyDriver; fullAt: () => number | undefined; firstReadAt: () => number | undefined; notifiedAt: () => number | undefined; reset: () => void } {
  let fullAt: number | undefined;
  let firstReadAt: number | undefined;
  let notifiedAt: number | undefined;
  const driver: ProxyDriver = {
    name: proxy.name,
    start: () => proxy.start(),
    read: async () => {
      firstReadAt ??= performance.now();
      const t = await proxy.read();
      if (isFull(t, workspaces)) fullAt ??= performance.now();
      return t;
    },
    apply: async (table) => {
      await proxy.apply(table);
      if (isFull(table, workspaces)) fullAt ??= performance.now();
    },
    subscribe: (fn) => proxy.subscribe(() => { notifiedAt ??= performance.now(); fn(); }),
  };
  return { driver, fullAt: () => fullAt, firstReadAt: () => firstReadAt, notifiedAt: () => notifiedAt, reset: () => { fullAt = undefined; firstReadAt = undefined; notifiedAt = undefined; } };
}

async function until(fullAt: () => number | undefined, deadline: number): Promise<number | undefined> {
  for (;;) {
    const at = fullAt();
    if (at !== undefined || Date.now() > deadline) return at;
    await sleep(5);
  }
}

export async function measureThroughController(proxy: CaddyProxy, workspaces: number, budgetMs: number): Promise<ControllerFigures> {
  const load = (rel: string) => import(new URL(rel, import.meta.url).href) as Promise<Record<string, unknown>>;
  let storeMod, ctlMod, stubMod;
  try {
    [storeMod, ctlMod, stubMod] = await Promise.all([load('../../store/index.js'), load('../../controller/index.js'), load('../../controller/drivers/runtime/stub/index.js')]);
  } catch (err) {
    return { endToEndSeconds: undefined, resyncSeconds: undefined, killSeconds: undefined, note: `controller not loadable: ${(err as Error).message}` };
  }
  const Store = storeMod.Store as { open(path: string): Promise<StoreLike> };
  const startController = ctlMod.startController as (o: object) => Promise<ControllerLike>;
  const createStubRuntime = stubMod.createStubRuntime as () => StubLike;

  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-ctl-'));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createStubRuntime();
  const stamp = stamping(proxy, workspaces);
  const controller = await startController({
    store, runtime, proxy: stamp.driver, probe: (ip: string, port: number) => runtime.probe(ip, port),
    capacity: { maxRunning: workspaces * 2, cpuBudget: workspaces * 4, memoryBudgetBytes: workspaces * 8 * 2 ** 30 },
  });
  const figures: ControllerFigures = { endToEndSeconds: undefined, resyncSeconds: undefined, killSeconds: undefined };
  try {
    const deadline = Date.now() + budgetMs;
    let t = performance.now();
    await store.transaction((tx) => {
      for (let i = 0; i < workspaces; i++) {
        const name = `ws-${String(i).padStart(4, '0')}`;
        tx.create({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: { image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' } } });
        for (const port of PORTS_PER_WORKSPACE) tx.create({ apiVersion: 'tidepool/v1', kind: 'Port', metadata: { name: `${name}-${port}` }, spec: { workspace: name, port } });
      }
    });
    const e2e = await until(stamp.fullAt, deadline);
    if (e2e === undefined) {
      figures.note = `end to end did not finish within the ${budgetMs / 1000} s budget`;
      return figures;
    }
    figures.endToEndSeconds = (e2e - t) / 1000;
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      controller.idle().then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now())); }),
    ]);
    clearTimeout(timer);
    if (!idle) {
      figures.note = 'controller not idle within the budget: resync and kill figures skipped';
      return figures;
    }

    const admin = proxy.admin();
    const live = (await admin.getConfig()) as { admin: never };
    await admin.load({ admin: live.admin });
    stamp.reset();
    t = performance.now();
    await controller.resync();
    const resynced = await until(stamp.fullAt, Date.now() + 60_000);
    if (resynced !== undefined) {
      figures.resyncSeconds = (resynced - t) / 1000;
      const began = stamp.firstReadAt();
      if (began !== undefined) figures.resyncDriverSeconds = (resynced - began) / 1000;
    }
    await controller.idle();

    const pid = proxy.pid;
    if (pid) {
      stamp.reset();
      t = performance.now();
      process.kill(pid, 'SIGKILL');
      const back = await until(stamp.fullAt, Date.now() + 60_000);
      if (back !== undefined) {
        figures.killSeconds = (back - t) / 1000;
        const notified = stamp.notifiedAt();
        if (notified !== undefined) figures.killRoutesSeconds = (back - notified) / 1000;
      }
    }
    return figures;
  } finally {
    await controller.stop();
    await runtime.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
