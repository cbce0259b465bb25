// bench/idle-cost: what idle tracking costs the controller when nothing sleeps. 1000 Workspaces
// with an idle timeout of 1 hour on the stub runtime and the memory proxy, converged; then the
// process's CPU time over equal windows with the idle ticks on (one runtime usage call and a
// pass over every workspace each tick) and off (the same controller options, a tick that never
// comes), interleaved rounds on the same store, the ratio printed per round and of the medians.
//   npx tsx bench/idle-cost.ts   (N=1000 WINDOW_S=20 ROUNDS=3 TICK_MS=2000; the default tick is 30 s,
//   so 2 s makes the cost 15 times what a server pays)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyDocuments } from '../store/apply/index.js';
import { Store } from '../store/index.js';
import type { Condition } from '../specs/index.js';
import { createMemoryProxy } from '../drivers/proxy/memory/index.js';
import { createStubRuntime, type StubRuntime } from '../drivers/runtime/stub/index.js';
import { startController, type Controller } from '../controller/index.js';

const N = Number(process.env.N ?? 1000);
const WINDOW_MS = Number(process.env.WINDOW_S ?? 20) * 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TICK_MS = Number(process.env.TICK_MS ?? 2000);
const GiB = 2 ** 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isReady = (o: { status?: { conditions?: Condition[] } }) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function controllerOn(store: Store, runtime: StubRuntime, dir: string, tickMs: number): Promise<Controller> {
  return startController({
    store,
    runtime,
    proxy: createMemoryProxy(),
    dataDir: dir,
    probe: runtime.probe,
    capacity: { maxRunning: N, cpuBudget: 2 * N, memoryBudgetBytes: N * GiB },
    idle: { tickMs },
  });
}

/** CPU ms of this process over one window with a controller whose idle tick is `tickMs`. */
async function window(store: Store, runtime: StubRuntime, dir: string, tickMs: number): Promise<number> {
  const c = await controllerOn(store, runtime, dir, tickMs);
  try {
    await c.idle();
    await sleep(2000); // the start's own work out of the way
    const cpu = process.cpuUsage();
    await sleep(WINDOW_MS);
    const used = process.cpuUsage(cpu);
    if ((await c.idleTick()).length) throw new Error('a workspace fell asleep: the timeout is too short for the bench');
    return (used.user + used.system) / 1000;
  } finally {
    await c.stop();
  }
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-idle-'));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createStubRuntime();
  try {
    const docs = Array.from({ length: N }, (_, i) => ({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name: `ws-${String(i).padStart(4, '0')}` },
      spec: { resources: { cpu: 1, memory: '1Gi' }, idleTimeout: '1h' },
    }));
    const first = await controllerOn(store, runtime, dir, 3_600_000);
    await applyDocuments(store, docs);
    for (const deadline = Date.now() + 600_000; store.list('Workspace').items.filter(isReady).length < N; ) {
      if (Date.now() > deadline) throw new Error('not converged in 10 min');
      await sleep(100);
    }
    await first.stop();
    console.log(
      `idle tracking: ${N} running stub workspaces with idleTimeout 1h, tick ${TICK_MS} ms, windows of ${WINDOW_MS / 1000} s`,
    );
    const on: number[] = [];
    const off: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ([TICK_MS, 3_600_000] as const) : ([3_600_000, TICK_MS] as const);
      for (const tick of order) (tick === TICK_MS ? on : off).push(await window(store, runtime, dir, tick));
      console.log(
        `  round ${r + 1}: on ${on[r]!.toFixed(0)} ms CPU, off ${off[r]!.toFixed(0)} ms CPU, ${(on[r]! / off[r]!).toFixed(3)}x`,
      );
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `  median: on ${med(on).toFixed(0)} ms, off ${med(off).toFixed(0)} ms: ${(med(on) / med(off)).toFixed(3)}x (target: a few percent)`,
    );
    // The windows are mostly noise when the controller is this quiet: one tick, measured alone.
    const c = await controllerOn(store, runtime, dir, 3_600_000);
    try {
      await c.idle();
      const TICKS = 50;
      const cpu = process.cpuUsage();
      for (let i = 0; i < TICKS; i++) await c.idleTick();
      const used = process.cpuUsage(cpu);
      const perTick = (used.user + used.system) / 1000 / TICKS;
      const share = (ms: number, everyMs: number) => `${((ms / everyMs) * 100).toFixed(3)}%`;
      console.log(
        `  one tick over ${N} workspaces: ${perTick.toFixed(2)} ms CPU: ${share(perTick, 30_000)} of a core at the default 30 s tick, against ${share(med(off), WINDOW_MS)} for the quiet controller itself (${((perTick / 30_000 / (med(off) / WINDOW_MS)) * 100).toFixed(1)}% more)`,
      );
    } finally {
      await c.stop();
    }
  } finally {
    await runtime.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
