// bench/bulk: many workspaces at once through the REST API, against the same workspaces applied
// in one request, side by side in one run (issue 21, item 4). A real `tidepool serve` (stub
// runtime, real Caddy and dnsmasq, a budget that fits them all) in a fresh data directory for
// each side; every request goes to loopback, every loop is bounded.
//   - creates: N `POST /api/v1/workspaces` with 8 in flight; the time they take, creates per
//     second, then the time until every workspace answers through Caddy's workspace port;
//   - floor: the same N in one `POST /api/v1/apply`, then the same wait.
// Targets: all answering within 3 s of the first create, creates ≥ 300/s.
// Run: npx tsx bench/bulk.ts [--n 500] [--rounds 3] (after `npm run build`: it runs dist/).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { clientCredentials } from '../server/index.js';
import { cleanEnv, closedPort, startServe, type Served } from '../test/cli/helpers.js';
import { median } from './lib/median.js';

const N = arg('n', 500);
const ROUNDS = arg('rounds', 3);
const IN_FLIGHT = 8;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

const manifest = (i: number) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name: `bulk-${i}` },
  spec: { image: 'minimal', resources: { cpu: 1, memory: '256Mi' } },
});

interface Side {
  served: Served;
  auth: string;
  workspaceUrl: string;
  close(): Promise<void>;
}

async function startSide(): Promise<Side> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-bulk-'));
  const [app, ws, preview] = [await closedPort(), await closedPort(), await closedPort()];
  const args = ['--runtime', 'stub', '--proxy', 'caddy', '--app-port', `127.0.0.1:${app}`];
  args.push('--workspace-port', `127.0.0.1:${ws}`, '--preview-port', `127.0.0.1:${preview}`);
  args.push('--cpu-budget', String(4 * N), '--memory-budget', `${N}Gi`, '--max-running', String(2 * N));
  const served = await startServe(dir, cleanEnv(), args, 60_000);
  const c = await clientCredentials(dir, {});
  if (!c) throw new Error(`serve wrote no credentials in ${dir}`);
  const auth = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  return {
    served,
    auth,
    workspaceUrl: `http://127.0.0.1:${ws}`,
    close: async () => {
      await served.proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function post(s: Side, path: string, body: unknown): Promise<void> {
  const r = await request(`${s.served.address}${path}`, {
    method: 'POST',
    headers: { authorization: s.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`POST ${path}: ${r.statusCode} ${text.slice(0, 300)}`);
}

/** Waits until every workspace's IDE answers 200 through Caddy (bounded: 60 s). */
async function allAnswering(s: Side): Promise<void> {
  const pending = new Set(Array.from({ length: N }, (_, i) => i));
  const deadline = performance.now() + 60_000;
  while (pending.size && performance.now() < deadline) {
    await Promise.all(
      [...pending].slice(0, 64).map(async (i) => {
        const r = await request(`${s.workspaceUrl}/workspace/bulk-${i}/`, { headers: { authorization: s.auth } });
        await r.body.dump();
        if (r.statusCode === 200) pending.delete(i);
      }),
    );
    if (pending.size) await new Promise((r) => setTimeout(r, 20));
  }
  if (pending.size) throw new Error(`${pending.size} of ${N} workspaces did not answer through Caddy within 60 s`);
}

async function singleCreates(): Promise<{ createsS: number; answeringS: number }> {
  const s = await startSide();
  try {
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < N) await post(s, '/api/v1/workspaces', manifest(next++));
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const created = performance.now();
    await allAnswering(s);
    return { createsS: (created - t0) / 1000, answeringS: (performance.now() - t0) / 1000 };
  } finally {
    await s.close();
  }
}

async function oneApply(): Promise<{ answeringS: number }> {
  const s = await startSide();
  try {
    const t0 = performance.now();
    await post(s, '/api/v1/apply', {
      apiVersion: 'v1',
      kind: 'List',
      items: Array.from({ length: N }, (_, i) => manifest(i)),
    });
    await allAnswering(s);
    return { answeringS: (performance.now() - t0) / 1000 };
  } finally {
    await s.close();
  }
}

async function main(): Promise<void> {
  console.log(`bench/bulk: ${N} workspaces, stub runtime, real Caddy; ${ROUNDS} interleaved rounds`);
  const singles: { createsS: number; answeringS: number }[] = [];
  const applies: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const one = await singleCreates();
    const floor = await oneApply();
    singles.push(one);
    applies.push(floor.answeringS);
    console.log(
      `round ${r}: ${N} creates in ${one.createsS.toFixed(2)} s (${(N / one.createsS).toFixed(0)}/s), all answering through Caddy after ${one.answeringS.toFixed(2)} s; one apply: all answering after ${floor.answeringS.toFixed(2)} s; ratio ${(one.answeringS / floor.answeringS).toFixed(2)}x`,
    );
  }
  const answering = median(singles.map((s) => s.answeringS));
  const perSecond = median(singles.map((s) => N / s.createsS));
  console.log(
    `median: creates ${perSecond.toFixed(0)}/s (target ≥ 300/s); all answering ${answering.toFixed(2)} s (target ≤ 3 s); one apply ${median(applies).toFixed(2)} s; ratio ${(answering / median(applies)).toFixed(2)}x`,
  );
}

await main();
