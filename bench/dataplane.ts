// bench/dataplane: routing by name (dnsmasq + a Caddy whose config never changes) against the
// reload approach and a static floor, side by side in one run, ratios printed.
//   1. dropped connections: 4 WebSockets + 4 slow streams to one workspace while 100 changes
//      happen to others: names (hosts file) versus one POST /load per change (the old approach)
//   2. change -> live through the controller (store, stub runtime, real Caddy): a Port added ->
//      its first 200; a workspace stopped -> its 503 page; Caddy loads counted
//   3. small sets: 10 workspaces applied -> all answering through Caddy
//   4. throughput: 10 and 5000 names, one busy workspace and traffic spread over many, each
//      against a static reverse_proxy floor
//   5. converge 5000 routes (1000 workspaces x (IDE + 4 Ports)) through the controller; Caddy
//      loads after boot
// Run: npx tsx bench/dataplane.ts [--seconds 4] [--rounds 3] [--skip-throughput] [--skip-converge]
// Loopback only (127.0.0.1, 127.77.x.y of the stub runtime, 127.78.200.x upstreams); bounded.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'undici';
import { Store, type Resource } from '../store/index.js';
import type { Condition } from '../specs/index.js';
import { createStubRuntime } from '../drivers/runtime/stub/index.js';
import { startController } from '../controller/index.js';
import type { RouteTable } from '../drivers/proxy/types.js';
import { AccessLog } from '../drivers/proxy/caddy/access.js';
import {
  AUTH,
  loadsInLog,
  median,
  openStream,
  openWebSocket,
  sleep,
  startDriver,
  startFloor,
  throughput,
  requireWrk,
  upstream,
  type Driver,
  type LongLived,
} from './lib/dataplane.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-converge': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
/** Workspaces of the converge (each with 4 Ports). Default 1000: 5000 routes. */
const CONVERGE_WS = Number(process.env.CONVERGE_WS ?? 1000);
const GiB = 2 ** 30;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function status(url: string): Promise<number> {
  try {
    const r = await request(url, { headers: { authorization: AUTH }, reset: true });
    await r.body.dump();
    return r.statusCode;
  } catch {
    return 0;
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (!(await fn())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(2);
  }
  return performance.now() - t0;
}

// ---- 1. dropped connections ----
async function dropped(d: Driver): Promise<void> {
  const servers = await Promise.all([
    upstream('127.78.200.1', 8080),
    ...Array.from({ length: 4 }, (_, i) => upstream(`127.78.200.${10 + i}`, 8080)),
  ]);
  const alice = { name: 'alice', upstream: '127.78.200.1:8080' };
  const others = Array.from({ length: 4 }, (_, i) => ({ name: `other${i}`, ip: `127.78.200.${10 + i}` }));
  const tableFor = (i: number): RouteTable => {
    // create, stop, start, Port add, Port remove, delete: cycling over the other workspaces.
    const t: RouteTable = { workspaces: [alice], ports: [], idle: { workspaces: [], ports: [] } };
    for (const [j, o] of others.entries()) {
      const step = (i + j) % 6;
      if (step === 0 || step === 2 || step === 4) t.workspaces.push({ name: o.name, upstream: `${o.ip}:8080` });
      if (step === 3) {
        t.workspaces.push({ name: o.name, upstream: `${o.ip}:8080` });
        t.ports.push({ workspace: o.name, port: 3000, upstream: `${o.ip}:3000` });
      }
      if (step === 1) t.idle!.workspaces.push(o.name);
    }
    return t;
  };
  await d.proxy.apply(tableFor(0));
  const open = async () => {
    const conns: LongLived[] = [];
    for (let i = 0; i < 4; i++) conns.push(await openWebSocket(`${d.workspaceUrl}/workspace/alice/ws${i}`));
    for (let i = 0; i < 4; i++)
      conns.push(openStream(`${d.workspaceUrl}/workspace/alice/stream?lines=150&ms=100`, 150));
    await sleep(300);
    return conns;
  };
  const finish = async (conns: LongLived[]) => {
    const wsDropped = conns.filter((c) => c.kind === 'websocket' && c.dropped()).length;
    for (const c of conns) if (c.kind === 'websocket') await c.end();
    await Promise.race([Promise.all(conns.filter((c) => c.kind === 'stream').map((c) => c.end())), sleep(20_000)]);
    return wsDropped + conns.filter((c) => c.kind === 'stream' && c.dropped()).length;
  };

  const loads0 = await loadsInLog(d.stateDir);
  let conns = await open();
  const t0 = performance.now();
  for (let i = 1; i <= 100; i++) await d.proxy.apply(tableFor(i));
  const namesMs = performance.now() - t0;
  await sleep(500);
  const droppedNames = await finish(conns);
  const loadsNames = (await loadsInLog(d.stateDir)) - loads0;

  // The reload approach: every change is a POST /load of a config that differs (as a route table in Caddy's config would).
  const base = (await d.proxy.buildConfig()) as {
    apps: { http: { servers: Record<string, { routes: { handle: { body?: string }[] }[] }> } };
  };
  conns = await open();
  const t1 = performance.now();
  for (let i = 1; i <= 100; i++) {
    const c = structuredClone(base);
    const routes = c.apps.http.servers.tidepool_pages!.routes;
    routes[routes.length - 1]!.handle[0]!.body = `bad request (${i})\n`;
    await d.proxy.admin().load(c as never);
    await d.proxy.apply(tableFor(i));
  }
  const reloadMs = performance.now() - t1;
  await sleep(500);
  const droppedReload = await finish(conns);
  await d.proxy.admin().load(base as never); // back to ours
  console.log('1. dropped connections (4 WebSockets + 4 slow streams to alice; 100 changes to other workspaces)');
  console.log(
    `   names (dnsmasq hosts file):  ${droppedNames} of 8 dropped; Caddy loads ${loadsNames}; 100 changes in ${ms(namesMs)}`,
  );
  console.log(`   one POST /load per change:   ${droppedReload} of 8 dropped; 100 loads in ${ms(reloadMs)}`);
  await Promise.all(servers.map((s) => s.close()));
}

// ---- 2 and 3. through the controller ----
/** A store, a stub runtime and a controller on `d`'s proxy, in a scratch folder; stop() undoes it all. */
async function benchController(
  d: Driver,
  tag: string,
  stub: Parameters<typeof createStubRuntime>[0],
  maxRunning: number,
) {
  const dir = await mkdtemp(join(tmpdir(), `tp-bench-dp-${tag}-`));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createStubRuntime(stub);
  const controller = await startController({
    store,
    runtime,
    proxy: d.proxy,
    dataDir: dir,
    probe: runtime.probe,
    resyncPeriodMs: 3_600_000,
    capacity: { maxRunning, cpuBudget: maxRunning * 2, memoryBudgetBytes: maxRunning * 2 * GiB },
  });
  const stop = async () => {
    await controller.stop();
    await runtime.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { store, runtime, controller, stop };
}

async function throughController(d: Driver): Promise<void> {
  const { store, controller, stop } = await benchController(d, 'ctl', { ideServers: true }, 100);
  const ws = (name: string, running = true) =>
    ({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name },
      spec: { image: 'default', running, resources: { cpu: 1, memory: '1Gi' } },
    }) as unknown as Resource;
  const port = (name: string, workspace: string, n: number) =>
    ({
      apiVersion: 'tidepool/v1',
      kind: 'Port',
      metadata: { name },
      spec: { workspace, port: n },
    }) as unknown as Resource;
  const loads0 = await loadsInLog(d.stateDir),
    driverLoads0 = d.proxy.loads;
  try {
    // Small sets: 10 workspaces applied -> each answering through Caddy.
    const small: number[] = [];
    for (let round = 0; round < 3; round++) {
      const names = Array.from({ length: 10 }, (_, i) => `s${round}-${i}`);
      const t0 = performance.now();
      await store.transaction((tx) => {
        for (const n of names) tx.create(ws(n));
      });
      await until('10 answering', async () =>
        (await Promise.all(names.map((n) => status(`${d.workspaceUrl}/workspace/${n}/`)))).every((s) => s === 200),
      );
      small.push(performance.now() - t0);
      await store.transaction((tx) => {
        for (const n of names) tx.delete('Workspace', n);
      });
    }
    await controller.idle();

    // Change -> live.
    await store.create(ws('live'));
    await until(
      'live answering',
      async () =>
        (await status(`${d.workspaceUrl}/workspace/live/`)) === 200 &&
        typeof store.get('Workspace', 'live')?.status?.ip === 'string',
    );
    const portMs: number[] = [],
      stopMs: number[] = [];
    for (let round = 0; round < 5; round++) {
      const ip = String(store.get('Workspace', 'live')!.status?.ip);
      const n = 3100 + round;
      const dev = await upstream(ip, n);
      await store.create(port(`live-${n}`, 'live', n));
      portMs.push(
        await until('port 200', async () => (await status(`${d.previewUrl}/workspace/live/port/${n}/`)) === 200),
      );
      await dev.close();
      const cur = store.get('Workspace', 'live')!;
      await store.update({
        ...structuredClone(cur),
        spec: { ...structuredClone(cur.spec), running: false },
      } as Resource);
      stopMs.push(await until('stopped 503', async () => (await status(`${d.workspaceUrl}/workspace/live/`)) === 503));
      const again = store.get('Workspace', 'live')!;
      await store.update({
        ...structuredClone(again),
        spec: { ...structuredClone(again.spec), running: true },
      } as Resource);
      await until(
        'live again',
        async () =>
          (await status(`${d.workspaceUrl}/workspace/live/`)) === 200 &&
          typeof store.get('Workspace', 'live')?.status?.ip === 'string',
      );
    }
    const loads = (await loadsInLog(d.stateDir)) - loads0;
    console.log(
      '2. change -> live through the controller (stub runtime, real Caddy and dnsmasq), 5 rounds, median (max)',
    );
    console.log(
      `   Port added -> its first 200:      ${ms(median(portMs))} (${ms(Math.max(...portMs))}); target <= 1500 ms`,
    );
    console.log(
      `   workspace stopped -> its 503 page: ${ms(median(stopMs))} (${ms(Math.max(...stopMs))}); target <= 1500 ms`,
    );
    console.log(
      `   Caddy config loads meanwhile:      ${loads} (log), ${d.proxy.loads - driverLoads0} (driver); target 0`,
    );
    console.log('3. small sets: 10 workspaces applied -> all 10 answering through Caddy, 3 rounds');
    console.log(`   median ${ms(median(small))}, each ${small.map(ms).join(', ')}; target <= 500 ms`);
  } finally {
    await stop();
  }
}

// ---- 4. throughput ----
// The floor streams its access log to a listener of its own exactly as ours does (both
// listeners in this process), so the ratio is the cost of the name lookups; what the access
// stream itself costs is measured apart, on the floor, and printed beside it.
async function throughputs(): Promise<void> {
  await requireWrk();
  const ups = await Promise.all(Array.from({ length: 8 }, (_, i) => upstream(`127.78.200.${100 + i}`, 8080)));
  const floorLog = new AccessLog({ info() {}, warn() {}, error() {} });
  await floorLog.listen(0);
  const floor = await startFloor('127.78.200.100:8080', floorLog.address);
  const bare = await startFloor('127.78.200.100:8080');
  const table = (n: number): RouteTable => ({
    workspaces: Array.from({ length: n }, (_, i) => ({ name: `w${i}`, upstream: `127.78.200.${100 + (i % 8)}:8080` })),
    ports: [],
  });
  // Interleaved rounds, the median of each side and of the rounds' ratios: this host is shared,
  // and a slow moment then weighs on both sides alike.
  const pair = async (a: string, b: string, paths: string[]) => {
    const xs: Awaited<ReturnType<typeof throughput>>[] = [];
    const ys: typeof xs = [];
    for (let round = 0; round < ROUNDS; round++) {
      xs.push(await throughput(a, paths, SECONDS));
      ys.push(await throughput(b, paths, SECONDS));
    }
    const bad = [...xs, ...ys].reduce((n, r) => n + r.errors + r.non2xx, 0);
    return {
      a: median(xs.map((r) => r.rps)),
      b: median(ys.map((r) => r.rps)),
      ratio: median(ys.map((y, i) => y.rps / xs[i]!.rps)),
      ratios: ys.map((y, i) => (y.rps / xs[i]!.rps).toFixed(2)).join(' '),
      bad,
    };
  };
  const lines: string[] = [];
  for (const refresh of ['1s', '250ms']) {
    const d = await startDriver({ refresh, accessLog: true });
    try {
      for (const n of [10, 5000]) {
        await d.proxy.apply(table(n));
        const spread = Array.from(
          { length: Math.min(n, 1000) },
          (_, i) => `/workspace/w${Math.floor((i * n) / Math.min(n, 1000))}/`,
        );
        await throughput(d.workspaceUrl, ['/workspace/w0/'], 1); // warm-up
        await throughput(floor.url, ['/workspace/w0/'], 1);
        const busy = await pair(floor.url, d.workspaceUrl, ['/workspace/w0/']);
        const wide = await pair(floor.url, d.workspaceUrl, spread);
        const bad = busy.bad + wide.bad;
        lines.push(
          `   refresh ${refresh}, ${String(n).padStart(4)} names: one busy ${busy.b.toFixed(0)} req/s vs floor ${busy.a.toFixed(0)} = ${busy.ratio.toFixed(2)}x (rounds ${busy.ratios}; target >= 0.9x); ` +
            `spread over ${spread.length} ${wide.b.toFixed(0)} vs ${wide.a.toFixed(0)} = ${wide.ratio.toFixed(2)}x (rounds ${wide.ratios}; target >= 0.6x)${bad ? `; ${bad} failed or non-2xx` : ''}`,
        );
      }
    } finally {
      await d.proxy.close();
      await rm(d.stateDir, { recursive: true, force: true });
    }
  }
  await throughput(bare.url, ['/workspace/w0/'], 1);
  const stream = await pair(bare.url, floor.url, ['/workspace/w0/']);
  console.log(
    `4. throughput (wrk, 32 connections, ${ROUNDS} interleaved rounds of ${SECONDS} s, loopback) against a static reverse_proxy floor with the same access stream`,
  );
  for (const l of lines) console.log(l);
  console.log(
    `   the access stream itself (lastAccessTime), on the floor: ${stream.b.toFixed(0)} req/s with it vs ${stream.a.toFixed(0)} without = ${stream.ratio.toFixed(2)}x (rounds ${stream.ratios})`,
  );
  await Promise.all([floor.stop(), bare.stop(), floorLog.close()]);
  await Promise.all(ups.map((u) => u.close()));
}

// ---- 5. converge 5000 routes ----
async function converge(d: Driver): Promise<void> {
  const { store, stop } = await benchController(d, 'conv', {}, 2000);
  const loads0 = await loadsInLog(d.stateDir),
    driverLoads0 = d.proxy.loads;
  try {
    const t0 = performance.now();
    await store.transaction((tx) => {
      for (let i = 0; i < CONVERGE_WS; i++) {
        const name = `c${String(i).padStart(4, '0')}`;
        tx.create({
          apiVersion: 'tidepool/v1',
          kind: 'Workspace',
          metadata: { name },
          spec: { image: 'default', running: true, resources: { cpu: 1, memory: '1Gi' } },
        } as unknown as Resource);
        for (let p = 0; p < 4; p++)
          tx.create({
            apiVersion: 'tidepool/v1',
            kind: 'Port',
            metadata: { name: `${name}-${3000 + p}` },
            spec: { workspace: name, port: 3000 + p },
          } as unknown as Resource);
      }
    });
    const ready = (o: { status?: { conditions?: Condition[] } }) =>
      o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    let last = 0;
    await until(
      'all Ready',
      async () => {
        const n = store.list('Workspace').items.filter(ready).length + store.list('Port').items.filter(ready).length;
        if (n !== last && process.env.VERBOSE) console.log(`   ${n} Ready at ${ms(performance.now() - t0)}`);
        last = n;
        return n === CONVERGE_WS * 5;
      },
      300_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${last} of ${CONVERGE_WS * 5}`);
    });
    const took = performance.now() - t0;
    const table = await d.proxy.read();
    console.log(
      `5. converge ${CONVERGE_WS} workspaces x (IDE + 4 Ports) = ${CONVERGE_WS * 5} routes through the controller (stub runtime, real Caddy and dnsmasq)`,
    );
    console.log(
      `   store write -> all Ready: ${ms(took)}; live names ${table?.workspaces.length} + ${table?.ports.length}; ` +
        `Caddy loads after boot ${(await loadsInLog(d.stateDir)) - loads0} (log), ${d.proxy.loads - driverLoads0} (driver); target 0`,
    );
  } finally {
    await stop();
  }
}

// --only drops|live|converge|throughput runs one part.
const run = (part: string) =>
  args.only
    ? args.only === part
    : !(part === 'converge' && args['skip-converge']) && !(part === 'throughput' && args['skip-throughput']);
// TP_BENCH_REFRESH=10s measures parts 2 and 3 with another name refresh (the cache of Caddy's lookups).
const d = await startDriver(process.env.TP_BENCH_REFRESH ? { refresh: process.env.TP_BENCH_REFRESH } : {});
try {
  if (run('drops')) await dropped(d);
  if (run('live')) await throughController(d);
  if (run('converge')) await converge(d);
} finally {
  await d.proxy.close();
  await rm(d.stateDir, { recursive: true, force: true });
}
if (run('throughput')) await throughputs();
