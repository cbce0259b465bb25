// IDE figures on the real Incus, each side by side with its floor in the same run:
//
// 1. the lifecycle of an IDE workspace (bench/lib/ide-rounds.ts): apply → the IDE answering
//    through Caddy (GET /workspace/NAME/healthz is code-server's answer), a start of the stopped
//    workspace → the same, and a delete with its home → gone; against the same Incus calls made
//    by hand over the socket (bench/lib/incus-floor.ts: a home volume, the instance created and
//    started with it, one-instance polling of /1.0/instances/NAME/state, then IP:8080/healthz;
//    PUT state start; force stop + delete + volume delete). Targets ≤ 1.1x. Both sides wait
//    alike: first for the address without touching the IDE (the floor polls the instance's
//    state; Tidepool's side reads the API's watch stream, bench/lib/address-watch.ts), then
//    the IDE every 50 ms (the floor on IP:8080; Tidepool's side through Caddy).
// 2. the idle memory of one IDE workspace (its cgroup, after it has been idle for a while).
// 3. a clone of a workspace with a 1 GiB home: a Workspace with spec.source.fromWorkspace,
//    apply → Ready; versus what a person would type for the same result: `incus storage volume
//    copy` of the home, `incus init` + `incus config device add` + `incus start`, polled (the one
//    instance's state) until :8080 answers. The bare volume copy is printed too. Target ≤ 1.2x.
//
// No baseline ever lists the host (`incus list NAME` fetches the full state of every instance:
// it slowed both sides alike and hid the gap this benchmark is for).
// Run (as root, after `make host`, which builds the tidepool-ide image; builds dist/ first):
//   npx tsx bench/ide.ts [--rounds 5] [--timeout 180] [--idle 15] [--image tidepool-ide]
// Rounds rotate which side goes first. Traffic goes only to loopback (Caddy) and to instances
// on the Tidepool bridge; every wait is bounded by --timeout seconds; everything made is deleted.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { instanceName } from '../drivers/runtime/incus/names.js';
import { cleanEnv, ROOT } from '../test/cli/helpers.js';
import {
  Api,
  caddyPids,
  freePorts,
  incus,
  instancesOf,
  isOurCaddy,
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
import { IncusFloor, directHealth, isCodeServerHealth } from './lib/incus-floor.js';
import { lifecycleRounds, report, secs, warmRounds, type Lifecycle } from './lib/ide-rounds.js';
import { median } from './lib/median.js';
import { CONFIG_WARM_READY } from '../drivers/runtime/incus/names.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const num = (name: string, def: number) => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const ROUNDS = num('rounds', 5);
const TIMEOUT_MS = num('timeout', 180) * 1000;
const IDLE_S = num('idle', 15);
const IMAGE = arg('image', 'tidepool-ide');
const POOL = 'tidepool';
const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * Both sides look every POLL_MS (Tidepool's through Caddy here, the floor's on the instance):
 * at 100 ms the looks' own granularity was as large as the gap being measured.
 */
const POLL_MS = 50;

/** Polls fn every POLL_MS until it is true; throws after the timeout. */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function mustIncus(args: string[]): Promise<void> {
  const r = await incus(args, TIMEOUT_MS);
  if (r.exitCode !== 0) throw new Error(`incus ${args.join(' ')}: ${r.all}`);
}

/** Memory the container's cgroup charges now (v1 or v2), and the anonymous part of it (no page cache), bytes. */
async function cgroupMemory(instance: string): Promise<{ charged: number; anon: number }> {
  for (const [dir, usage, anonKey] of [
    [`/sys/fs/cgroup/memory/lxc.payload.${instance}`, 'memory.usage_in_bytes', 'total_rss'],
    [`/sys/fs/cgroup/lxc.payload.${instance}`, 'memory.current', 'anon'],
  ] as const) {
    const text = await readFile(`${dir}/${usage}`, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const stat = await readFile(`${dir}/memory.stat`, 'utf8').catch(() => '');
    const anon = Number(new RegExp(`^${anonKey} (\\d+)$`, 'm').exec(stat)?.[1] ?? NaN);
    return { charged: Number(text.trim()), anon };
  }
  throw new Error(`no memory cgroup for ${instance}`);
}

async function main(): Promise<void> {
  const probe = await probeIncus();
  if (!probe.ok) throw new Error(`Incus is not usable here: ${probe.why}`);
  if ((await incus(['image', 'show', IMAGE])).exitCode !== 0)
    throw new Error(`Incus has no image ${IMAGE}: build it with \`make image\` (or pass --image ALIAS)`);
  if (!process.env.TIDEPOOL_SKIP_BUILD)
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });

  const scratch = await mkdtemp(join(tmpdir(), 'tp-bench-ide-'));
  const dataDir = join(scratch, 'data');
  const id = await presetId(dataDir, 'benchide');
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const baseMark = `bench-ide-${RUN}`;
  const floor = new IncusFloor({
    socketPath: INCUS_SOCKET,
    profile: PROFILE,
    pool: POOL,
    image: IMAGE,
    mark: { 'user.bench': baseMark },
    pollMs: POLL_MS,
    timeoutMs: TIMEOUT_MS,
  });
  let serve: IncusServe | undefined;
  let warmServe: IncusServe | undefined;
  let warmId: string | undefined;
  try {
    serve = await startIncusServe(dataDir, await freePorts(), env, 60_000, [
      '--image',
      `ide=${IMAGE}`,
      '--image',
      'minimal=tidepool-minimal',
      // The product's default, not the tests' 2 s.
      '--resync-period',
      '30s',
    ]);
    const api = new Api(serve.address);
    const s = serve;
    const spec = { image: 'ide', resources: { cpu: 2, memory: '2Gi' } };
    console.log(`bench/ide: image ${IMAGE}, ${ROUNDS} round(s), load average ${load()}`);

    // ---- 1. the lifecycle of an IDE workspace, against its floor ----
    const life = await lifecycleRounds({
      rounds: ROUNDS,
      api,
      ports: s,
      floor,
      until,
      spec,
      floorMemory: '2GiB',
      mark: baseMark,
    });
    const pick = (k: keyof Lifecycle) => [life.tidepool.map((l) => l[k]), life.floor.map((l) => l[k])] as const;
    report(
      'apply → IDE answering through Caddy',
      ...pick('create'),
      'home volume + create with start + one-instance polling',
      '≤ 1.1x',
    );
    report(
      'start of a stopped IDE workspace → answering',
      ...pick('start'),
      'PUT state start + one-instance polling',
      '≤ 1.1x',
    );
    report('delete with its home → gone', ...pick('delete'), 'force stop + delete + volume delete', '≤ 1.1x');

    // ---- 2. idle memory of one IDE workspace ----
    await api.apply([workspace('idle', spec)]);
    await until('idle through Caddy', async () =>
      isCodeServerHealth((await viaCaddy(s, '/workspace/idle/healthz', true, 2000))?.body),
    );
    // One page load, as a browser's first request would, then idle.
    await viaCaddy(s, '/workspace/idle/', true, 10_000);
    await sleep(IDLE_S * 1000);
    const idle = await cgroupMemory(instanceName('idle', id));
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `idle memory of one IDE workspace (${IDLE_S} s after its first page): ${mib(idle.anon)} anonymous, ${mib(idle.charged)} charged to its cgroup with page cache`,
    );
    await api.delete('workspaces', 'idle');

    // ---- 3. a clone of a workspace with a 1 GiB home ----
    await api.apply([workspace('src', { image: 'minimal', resources: { cpu: 1, memory: '512Mi' } })]);
    await until(
      'src Ready',
      async () =>
        (await api.get('workspaces', 'src'))?.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ) ?? false,
    );
    const srcInst = instanceName('src', id);
    await mustIncus([
      'exec',
      srcInst,
      '--',
      'sh',
      '-c',
      'dd if=/dev/urandom of=/home/dev/big bs=1M count=1024 2>/dev/null && sync && ls -l /home/dev/big',
    ]);
    const srcVolume = `${srcInst}-home`;
    const cloneTimes: number[] = [];
    const manualTimes: number[] = [];
    const copyTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tidepool = async () => {
        const name = `clone${round}`;
        const t0 = performance.now();
        await api.apply([
          workspace(name, {
            image: 'minimal',
            resources: { cpu: 1, memory: '512Mi' },
            source: { fromWorkspace: 'src' },
          }),
        ]);
        await until(`${name} Ready`, async () => {
          const o = await api.get('workspaces', name);
          return o?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
        });
        cloneTimes.push(performance.now() - t0);
        const size = await incus(['exec', instanceName(name, id), '--', 'sh', '-c', 'ls -l /home/dev/big']);
        if (!size.stdout.includes('1073741824')) throw new Error(`the clone's home lacks the 1 GiB file: ${size.all}`);
        await api.delete('workspaces', name);
        await until(`${name} deleted`, async () => !(await api.get('workspaces', name)));
      };
      const manual = async () => {
        const vol = `${baseMark}-v${round}`;
        const name = `${baseMark}-c${round}`;
        const t0 = performance.now();
        await mustIncus(['storage', 'volume', 'copy', `${POOL}/${srcVolume}`, `${POOL}/${vol}`]);
        copyTimes.push(performance.now() - t0);
        await mustIncus([
          'init',
          'tidepool-minimal',
          name,
          '-p',
          PROFILE,
          '-c',
          'limits.cpu=1',
          '-c',
          'limits.memory=512MiB',
          '-c',
          `user.bench=${baseMark}`,
          '-q',
        ]);
        await mustIncus([
          'config',
          'device',
          'add',
          name,
          'home',
          'disk',
          `pool=${POOL}`,
          `source=${vol}`,
          'path=/home/dev',
          '-q',
        ]);
        await mustIncus(['start', name, '-q']);
        await floor.ide(name, async (ip) => (await directHealth(ip, '/')) !== undefined);
        manualTimes.push(performance.now() - t0);
        await incus(['delete', '-f', name]);
        await incus(['storage', 'volume', 'delete', POOL, vol]);
      };
      for (const side of round % 2 === 0 ? [tidepool, manual] : [manual, tidepool]) await side();
    }
    console.log(`clone (fromWorkspace, 1 GiB home) apply → Ready: ${cloneTimes.map(secs).join(' / ')}`);
    console.log(
      `  floor, volume copy + init + device add + start + :8080: ${manualTimes.map(secs).join(' / ')} (the copy alone: ${copyTimes.map(secs).join(' / ')})`,
    );
    console.log(`  ratio of medians ${(median(cloneTimes) / median(manualTimes)).toFixed(2)}x (target ≤ 1.2x)`);
    await api.delete('workspaces', 'src');
    await until('src deleted', async () => !(await api.get('workspaces', 'src')));
    // ---- 4. apply → IDE answering with a warm pool, against the same without ----
    const warmDir = join(scratch, 'warm');
    warmId = await presetId(warmDir, 'benchwarm');
    const wid = warmId;
    warmServe = await startIncusServe(warmDir, await freePorts(), env, 60_000, [
      '--image',
      `ide=${IMAGE}`,
      '--resync-period',
      '30s',
      '--warm-pool',
      'ide=2',
    ]);
    const ws = warmServe;
    const warm = await warmRounds({
      rounds: ROUNDS,
      until,
      spec,
      warm: { api: new Api(ws.address), ports: ws },
      cold: { api, ports: s },
      poolReady: () =>
        // The pool marks an instance ready only once it has booted (and run its IDE once).
        until('the warm pool full and ready', async () => {
          const pool = (await instancesOf(wid)).filter((i) => i.config[CONFIG_WARM_READY] === 'true');
          return pool.length === 2 && pool.every((i) => i.status === 'Running');
        }),
    });
    report(
      'apply → IDE answering through Caddy, warm pool',
      warm.warm,
      warm.cold,
      'the same without a pool',
      '≤ 0.5x and ≤ 1.5 s',
    );
    console.log(`  warm pool median ${secs(median(warm.warm))} (target ≤ 1.50 s)`);
    console.log(`bench/ide: done, load average ${load()}`);
  } finally {
    if (warmServe) await stopServe(warmServe).catch(() => undefined);
    // The pool outlives its serve by design (the next start adopts it): this run deletes it.
    if (warmId) {
      await deleteByTidepoolId(warmId);
      await deleteVolumesByTidepoolId(warmId);
    }
    await floor.cleanup().catch((err: unknown) => console.error(`bench/ide: floor cleanup: ${err}`));
    await floor.close();
    if (serve) {
      await stopServe(serve).catch(() => undefined);
      for (const pid of caddyPids(serve))
        if (await isOurCaddy(pid, serve.dataDir)) console.error(`bench/ide: Caddy ${pid} is still alive`);
    }
    // Whatever a failed run left: this run's instances and volumes only.
    await deleteByTidepoolId(id);
    await deleteVolumesByTidepoolId(id);
    const left = await execa('incus', ['list', `user.bench=${baseMark}`, '-c', 'n', '-f', 'csv'], {
      reject: false,
      stdin: 'ignore',
    });
    for (const n of (left.stdout ?? '').split('\n').filter(Boolean)) await incus(['delete', '-f', n]);
    const vols = await execa('incus', ['storage', 'volume', 'list', POOL, '-c', 'n', '-f', 'csv'], {
      reject: false,
      stdin: 'ignore',
    });
    for (const v of (vols.stdout ?? '').split('\n').filter((x) => x.startsWith(baseMark)))
      await incus(['storage', 'volume', 'delete', POOL, v]);
    await rm(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench/ide: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
