// bench/metrics: the cost of being observed, side by side in one run. Each round starts a
// `serve` (stub runtime with real IDE servers on 127.77.x.y, memory proxy) with the metrics
// off and one with them on (the order alternates), and in each: applies 1000 Workspaces
// through the API and times apply → all Ready, then loads GET /api/v1/workspaces?limit=50 with
// autocannon; with metrics on, it also times /metrics scrapes of the 1000 workspaces (their
// usage series included). Loopback only; every run bounded. Prints medians and ratios.
//   npx tsx bench/metrics.ts [--rounds 3] [--n 1000] [--duration 5]
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { runServe, type ServeHandle } from '../server/index.js';

type Autocannon = (
  o: Record<string, unknown>,
) => Promise<{ requests: { average: number }; non2xx: number; errors: number }>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const CREDS = { TIDEPOOL_USER: 'bench', TIDEPOOL_PASSWORD: 'bench-password-not-secret' };
const AUTH = `Basic ${Buffer.from(`${CREDS.TIDEPOOL_USER}:${CREDS.TIDEPOOL_PASSWORD}`).toString('base64')}`;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!(v > 0)) throw new Error(`--${name} must be a positive number`);
  return v;
}
const N = arg('n', 1000);
const ROUNDS = arg('rounds', 3);
const DURATION = arg('duration', 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Round {
  convergeMs: number;
  /** CPU time of this process during the converge (less swayed by other load on the host than wall time). */
  convergeCpuMs: number;
  /** CPU time per request during the load (server and autocannon, the same in both modes). */
  cpuPerRequestUs: number;
  rps: number;
  scrapeMs?: number[];
  scrapeBytes?: number;
}

async function converge(h: ServeHandle): Promise<number> {
  const items = Array.from({ length: N }, (_, i) => ({
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name: `ws-${String(i).padStart(4, '0')}` },
    spec: { resources: { cpu: 1, memory: '1Gi' } },
  }));
  const t0 = performance.now();
  const res = await fetch(`${h.address}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  });
  if (!res.ok) throw new Error(`apply: ${res.status} ${await res.text()}`);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const ready = h.store
      .list('Workspace')
      .items.filter((w) => w.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready === N) return performance.now() - t0;
    if (Date.now() > deadline) throw new Error(`not converged after 10 minutes: ${ready} of ${N} Ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function scrapes(h: ServeHandle): Promise<{ ms: number[]; bytes: number }> {
  // The sampler (every second here) has seen every workspace twice: the usage series are there.
  await new Promise((r) => setTimeout(r, 2500));
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const text = await (await fetch(`${h.address}/metrics`, { headers: { authorization: AUTH } })).text();
    ms.push(performance.now() - t0);
    bytes = text.length;
    if (!text.includes(`tidepool_workspace_memory_limit_bytes{workspace="ws-${String(N - 1).padStart(4, '0')}"}`))
      throw new Error('the scrape lacks the last workspace: the usage series are not all there');
  }
  return { ms, bytes };
}

async function round(metrics: boolean): Promise<Round> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tp-bench-metrics-'));
  const h = await runServe({
    dataDir,
    listen: '127.0.0.1:0',
    env: { ...process.env, ...CREDS },
    logger: pino({ level: 'silent' }),
    runtime: 'stub',
    proxy: 'memory',
    maxRunning: N,
    cpuBudget: 2 * N,
    memoryBudgetBytes: N * 2 ** 30,
    resyncPeriodMs: 3_600_000,
    metrics,
    usageIntervalMs: 1000,
  });
  try {
    const cpu0 = process.cpuUsage();
    const convergeMs = await converge(h);
    const c = process.cpuUsage(cpu0);
    const convergeCpuMs = (c.user + c.system) / 1000;
    const opts = { url: `${h.address}/api/v1/workspaces?limit=50`, headers: { authorization: AUTH }, connections: 10 };
    await autocannon({ ...opts, duration: 1 });
    const cpu1 = process.cpuUsage();
    const r = await autocannon({ ...opts, duration: DURATION });
    const l = process.cpuUsage(cpu1);
    if (r.non2xx || r.errors) throw new Error(`load: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const cpuPerRequestUs = (l.user + l.system) / (r.requests.average * DURATION);
    const out: Round = { convergeMs, convergeCpuMs, cpuPerRequestUs, rps: r.requests.average };
    if (metrics) {
      const s = await scrapes(h);
      out.scrapeMs = s.ms;
      out.scrapeBytes = s.bytes;
    }
    return out;
  } finally {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const off: Round[] = [];
  const on: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const m of order) {
      const r = await round(m);
      (m ? on : off).push(r);
      console.log(
        `round ${i + 1} metrics ${m ? 'on ' : 'off'}: apply → ${N} Ready ${r.convergeMs.toFixed(0)} ms (CPU ${r.convergeCpuMs.toFixed(0)} ms); GET list ${r.rps.toFixed(0)} req/s (CPU ${r.cpuPerRequestUs.toFixed(0)} µs/req)` +
          (r.scrapeMs
            ? `; /metrics median ${median(r.scrapeMs).toFixed(1)} ms, max ${Math.max(...r.scrapeMs).toFixed(1)} ms, ${(r.scrapeBytes! / 1024).toFixed(0)} KiB`
            : ''),
      );
    }
    const a = off[i]!;
    const b = on[i]!;
    console.log(
      `round ${i + 1} ratios (on / off): converge time ${(b.convergeMs / a.convergeMs).toFixed(3)}x, CPU ${(b.convergeCpuMs / a.convergeCpuMs).toFixed(3)}x; throughput ${(b.rps / a.rps).toFixed(3)}x, CPU per request ${(b.cpuPerRequestUs / a.cpuPerRequestUs).toFixed(3)}x`,
    );
  }
  const conv = median(on.map((r) => r.convergeMs)) / median(off.map((r) => r.convergeMs));
  const rps = median(on.map((r) => r.rps)) / median(off.map((r) => r.rps));
  const scrape = median(on.flatMap((r) => r.scrapeMs!));
  const cpuConv = median(on.map((r) => r.convergeCpuMs)) / median(off.map((r) => r.convergeCpuMs));
  const cpuReq = median(on.map((r) => r.cpuPerRequestUs)) / median(off.map((r) => r.cpuPerRequestUs));
  console.log(
    `\nmedians: converge ${median(off.map((r) => r.convergeMs)).toFixed(0)} ms off, ${median(on.map((r) => r.convergeMs)).toFixed(0)} ms on (${conv.toFixed(3)}x, target ≤ 1.05x)`,
  );
  console.log(
    `         GET list ${median(off.map((r) => r.rps)).toFixed(0)} req/s off, ${median(on.map((r) => r.rps)).toFixed(0)} req/s on (${rps.toFixed(3)}x, target ≥ 0.95x)`,
  );
  console.log(`         CPU: converge ${cpuConv.toFixed(3)}x, per request ${cpuReq.toFixed(3)}x (on / off)`);
  console.log(`         /metrics of ${N} workspaces: median ${scrape.toFixed(1)} ms (target < 100 ms)`);
}

await main();
