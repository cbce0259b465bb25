// Sleep and wake on the real Incus, each figure beside its floor in the same run:
//
// 1. wake: a sleeping IDE workspace, one GET through Caddy with credentials (it wakes it) →
//    code-server's /healthz answering through Caddy; against `PUT state start` of a stopped
//    container of the same image, polling that one instance's state, then its :8080/healthz
//    (bench/lib/incus-floor.ts). Rounds alternate which side goes first. Target ≤ 1.2x.
// 2. density: a memory budget of 4 × 1 GiB and 12 IDE workspaces with an idle timeout, all
//    declared at once; then each opened in turn through Caddy as a user would (a GET with
//    credentials, then polling /healthz): every one answers, none is refused. Prints the time
//    from the request to code-server answering (median, max) and how many sleeps it took.
//
// Run (as root, after `make host`; builds dist/ first unless TIDEPOOL_SKIP_BUILD):
//   npx tsx bench/sleep.ts [--rounds 3] [--count 12] [--timeout 180] [--image tidepool-ide] [--wake-only]
// Traffic goes only to loopback (Caddy) and to instances on the Tidepool bridge; every wait is
// bounded by --timeout; everything made is deleted.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cleanEnv, ROOT } from '../test/cli/helpers.js';
import {
  Api,
  freePorts,
  incus,
  presetId,
  startIncusServe,
  stopServe,
  viaCaddy,
  workspace,
  type IncusServe,
} from '../test/e2e/incus-helpers.js';
import {
  INCUS_SOCKET,
  PROFILE,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  probeIncus,
} from '../test/incus/helpers.js';
import { IncusFloor, isCodeServerHealth } from './lib/incus-floor.js';
import { report, secs } from './lib/ide-rounds.js';
import { median } from './lib/median.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = Number(i >= 0 ? process.argv[i + 1] : def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const ROUNDS = arg('rounds', 3);
const COUNT = arg('count', 12);
const TIMEOUT_MS = arg('timeout', 180) * 1000;
const i = process.argv.indexOf('--image');
const IMAGE = i >= 0 ? process.argv[i + 1]! : 'tidepool-ide';
const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** Opens /workspace/NAME/ through Caddy as a browser would, then polls until code-server answers; ms. */
async function open(s: IncusServe, name: string): Promise<number> {
  const t0 = performance.now();
  await viaCaddy(s, `/workspace/${name}/`, true, 10_000);
  await until(`${name} answering through Caddy`, async () =>
    isCodeServerHealth((await viaCaddy(s, `/workspace/${name}/healthz`, true, 2000))?.body),
  );
  return performance.now() - t0;
}

const phaseOf = async (api: Api, name: string) => (await api.get('workspaces', name))?.status?.phase;

async function serveWith(
  tag: string,
  args: string[],
): Promise<{ serve: IncusServe; api: Api; id: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `tp-bench-sleep-${tag}-`));
  const id = await presetId(join(dir, 'data'), `bsleep${tag}`);
  const env = cleanEnv({ XDG_DATA_HOME: join(dir, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const serve = await startIncusServe(join(dir, 'data'), await freePorts(), env, 60_000, [
    '--image',
    `ide=${IMAGE}`,
    '--idle-tick',
    '2s',
    ...args,
  ]);
  return { serve, api: new Api(serve.address), id, dir };
}

async function wakeBench(): Promise<void> {
  const { serve, api, id, dir } = await serveWith('wake', []);
  const floor = new IncusFloor({
    socketPath: INCUS_SOCKET,
    profile: PROFILE,
    pool: 'tidepool',
    image: IMAGE,
    mark: { 'user.bench': `bench-sleep-${RUN}` },
    pollMs: 100,
    timeoutMs: TIMEOUT_MS,
  });
  const floorName = `bench-sleep-${RUN}`;
  try {
    await api.apply([workspace('wk', { image: 'ide', resources: { cpu: 2, memory: '2Gi' }, idleTimeout: '1h' })]);
    await until('wk Ready', async () => (await phaseOf(api, 'wk')) === 'Running');
    await floor.create(floorName, 2, '2GiB');
    await floor.ide(floorName);
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await api.call('POST', '/api/v1/workspaces/wk/sleep');
      await floor.stop(floorName);
      await until('wk asleep', async () => (await phaseOf(api, 'wk')) === 'Sleeping');
      // Caddy may answer a name from its cache for up to one refresh (1 s) after it went away: a
      // request in that second dials the stopped container (3 s to time out) and wakes nothing.
      // A person opens a sleeping workspace long after it fell asleep; so does this bench.
      await sleep(1500);
      const tidepool = async () => ours.push(await open(serve, 'wk'));
      const manual = async () => {
        const t0 = performance.now();
        await floor.start(floorName);
        await floor.ide(floorName);
        base.push(performance.now() - t0);
      };
      for (const side of r % 2 === 0 ? [tidepool, manual] : [manual, tidepool]) await side();
    }
    report(
      'wake: a request through Caddy → VS Code answering',
      ours,
      base,
      'PUT state start + one-instance polling + :8080',
      '≤ 1.2x',
    );
  } finally {
    await floor.cleanup().catch(() => undefined);
    await floor.close();
    await stopServe(serve).catch(() => undefined);
    await deleteByTidepoolId(id);
    await deleteVolumesByTidepoolId(id);
    await rm(dir, { recursive: true, force: true });
  }
}

async function densityBench(): Promise<void> {
  const { serve, api, id, dir } = await serveWith('density', ['--memory-budget', '4Gi', '--cpu-budget', '64']);
  try {
    const names = Array.from({ length: COUNT }, (_, k) => `d${k}`);
    await api.apply(
      names.map((n) => workspace(n, { image: 'ide', resources: { cpu: 1, memory: '1Gi' }, idleTimeout: '30m' })),
    );
    // Every one made once: running, or asleep after making room for another.
    await until(
      'every workspace Running or Sleeping',
      async () => {
        const phases = await Promise.all(names.map((n) => phaseOf(api, n)));
        return phases.every((p) => p === 'Running' || p === 'Sleeping');
      },
      TIMEOUT_MS * 3,
    );
    const sleepsBefore = await sleeps(api);
    const times: number[] = [];
    for (const n of names) times.push(await open(serve, n));
    const refused = (await api.call('GET', '/api/v1/events')).json.items.filter(
      (e: { reason: string }) => e.reason === 'InsufficientCapacity',
    ).length;
    console.log(
      `density: ${COUNT} IDE workspaces of 1 GiB under a 4 GiB budget, each opened in turn through Caddy: median ${secs(median(times))}, max ${secs(Math.max(...times))}; every one answered; ${(await sleeps(api)) - sleepsBefore} sleeps to make room while opening (${sleepsBefore} while declaring); ${refused} InsufficientCapacity events`,
    );
  } finally {
    await stopServe(serve).catch(() => undefined);
    await deleteByTidepoolId(id);
    await deleteVolumesByTidepoolId(id);
    await rm(dir, { recursive: true, force: true });
  }
}

async function sleeps(api: Api): Promise<number> {
  const items = (await api.call('GET', '/api/v1/events')).json.items as { reason: string; count?: number }[];
  return items.filter((e) => e.reason === 'SleepingToMakeRoom').reduce((s, e) => s + (e.count ?? 1), 0);
}

async function main(): Promise<void> {
  const probe = await probeIncus();
  if (!probe.ok) throw new Error(`Incus is not usable here: ${probe.why}`);
  if ((await incus(['image', 'show', IMAGE])).exitCode !== 0) throw new Error(`Incus has no image ${IMAGE}`);
  if (!process.env.TIDEPOOL_SKIP_BUILD)
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  console.log(
    `bench/sleep: image ${IMAGE}, ${ROUNDS} round(s), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await wakeBench();
  if (!process.argv.includes('--wake-only')) await densityBench();
}

await main();
