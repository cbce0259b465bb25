// bench/converge: 1000 Workspaces × 4 Ports on the stub runtime and the memory proxy,
// through a real Store (temp dir) and the controller.
//   npx tsx bench/converge.ts            (N=1000 PORTS=4 WORKERS=4 by default)
// Prints: time from apply to all Ready, proxy and runtime calls during the converge,
// then the CPU time and calls of one resync over the converged set.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyDocuments } from '../store/apply/index.js';
import { Store } from '../store/index.js';
import type { Condition } from '../specs/index.js';
import { createMemoryProxy } from '../drivers/proxy/memory/index.js';
import { createStubRuntime } from '../drivers/runtime/stub/index.js';
import { startController } from '../controller/index.js';

const N = Number(process.env.N ?? 1000);
const PORTS = Number(process.env.PORTS ?? 4);
const WORKERS = Number(process.env.WORKERS ?? 4);
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 600_000);
const GiB = 2 ** 30;

const isReady = (o: { status?: { conditions?: Condition[] } }) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-converge-'));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createStubRuntime();
  const proxy = createMemoryProxy();
  const controller = await startController({
    store,
    runtime,
    proxy,
    dataDir: dir,
    probe: runtime.probe,
    workers: WORKERS,
    resyncPeriodMs: 3_600_000,
    capacity: { maxRunning: N, cpuBudget: 2 * N, memoryBudgetBytes: N * GiB },
  });
  try {
    const docs: object[] = [];
    for (let i = 0; i < N; i++) {
      const ws = `ws-${String(i).padStart(4, '0')}`;
      docs.push({
        apiVersion: 'tidepool/v1',
        kind: 'Workspace',
        metadata: { name: ws },
        spec: { resources: { cpu: 1, memory: '1Gi' } },
      });
      for (let p = 0; p < PORTS; p++)
        docs.push({
          apiVersion: 'tidepool/v1',
          kind: 'Port',
          metadata: { name: `${ws}-${3000 + p}` },
          spec: { workspace: ws, port: 3000 + p },
        });
    }
    const c0 = { ...runtime.calls },
      p0 = { ...proxy.calls },
      rv0 = Number(store.resourceVersion);
    const cpuStart = process.cpuUsage();
    const t0 = performance.now();
    await applyDocuments(store, docs);
    const tApplied = performance.now();
    const deadline = Date.now() + TIMEOUT_MS;
    let ready = 0;
    for (;;) {
      const ws = store.list('Workspace').items,
        ports = store.list('Port').items;
      ready = ws.filter(isReady).length + ports.filter(isReady).length;
      if (ready === N * (1 + PORTS)) break;
      if (Date.now() > deadline)
        throw new Error(`not converged after ${TIMEOUT_MS} ms: ${ready} of ${N * (1 + PORTS)} Ready`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const tReady = performance.now();
    const convergeCpu = process.cpuUsage(cpuStart);
    await controller.idle();
    const routes = proxy.table()!;

    console.log(`converge: ${N} Workspaces x ${PORTS} Ports (${N * (1 + PORTS)} objects), ${WORKERS} workers`);
    console.log(`  apply (one store transaction):   ${ms(tApplied - t0)}`);
    console.log(`  apply -> all Ready:              ${ms(tReady - t0)}`);
    console.log(`  CPU time during converge:        ${ms((convergeCpu.user + convergeCpu.system) / 1000)}`);
    console.log(`  proxy apply calls:               ${proxy.calls.apply - p0.apply}`);
    console.log(`  proxy read calls:                ${proxy.calls.read - p0.read}`);
    console.log(`  runtime list calls:              ${runtime.calls.list - c0.list}`);
    console.log(`  runtime create calls:            ${runtime.calls.create - c0.create}`);
    console.log(`  store writes (resourceVersions): ${Number(store.resourceVersion) - rv0}`);
    console.log(
      `  live routes:                     ${routes.workspaces.length} workspaces, ${routes.ports.length} ports`,
    );

    const c1 = { ...runtime.calls },
      p1 = { ...proxy.calls },
      rv1 = store.resourceVersion;
    const cpu = process.cpuUsage();
    const t1 = performance.now();
    await controller.resync();
    await controller.idle();
    const wall = performance.now() - t1;
    const used = process.cpuUsage(cpu);
    console.log(`resync of the converged set:`);
    console.log(
      `  CPU time:                        ${ms((used.user + used.system) / 1000)} (user ${ms(used.user / 1000)}, system ${ms(used.system / 1000)})`,
    );
    console.log(`  wall time (incl. ~20 ms idle check): ${ms(wall)}`);
    console.log(`  runtime list calls:              ${runtime.calls.list - c1.list} (target 1)`);
    console.log(`  proxy apply calls:               ${proxy.calls.apply - p1.apply} (target 0)`);
    console.log(`  proxy read calls:                ${proxy.calls.read - p1.read}`);
    console.log(`  store writes:                    ${Number(store.resourceVersion) - Number(rv1)}`);
  } finally {
    await controller.stop();
    await runtime.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
