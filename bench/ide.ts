// IDE figures on the real Incus, each side by side with its plain-Incus baseline in one run:
//
// 1. apply → the IDE answering through Caddy: a Workspace of the code-server image applied to a
//    real `tidepool serve` (the built binary, its own Caddy with basic auth), timed until
//    GET /workspace/NAME/healthz through Caddy is code-server's answer; versus `incus launch`
//    of the same image, polled on IP:8080/healthz. Target ≤ 1.2x.
// 2. a clone of a workspace with a 1 GiB home: a Workspace with spec.source.fromWorkspace,
//    apply → Ready; versus what a person would type for the same result: `incus storage volume
//    copy` of the home, `incus init` + `incus config device add` + `incus start`, polled until
//    :8080 answers. The bare `incus storage volume copy` is printed too. Target ≤ 1.2x.
// 3. the idle memory of one IDE workspace (its cgroup, after it has been idle for a while).
//
// Run (as root, after `make host`, which builds the tidepool-ide image; builds dist/ first):
//   npx tsx bench/ide.ts [--rounds 3] [--timeout 180] [--idle 15] [--image tidepool-ide]
// Rounds rotate which side goes first. Traffic goes only to loopback (Caddy) and to instances
// on the Tidepool bridge; every wait is bounded by --timeout seconds; everything made is deleted.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { instanceName } from '../controller/drivers/runtime/incus/names.js';
import { cleanEnv, ROOT } from '../test/cli/helpers.js';
import {
  Api,
  caddyPids,
  freePorts,
  incus,
  isOurCaddy,
  presetId,
  startIncusServe,
  stopServe,
  viaCaddy,
  workspace,
  type IncusServe,
} from '../test/e2e/incus-helpers.js';
import {
  BRIDGE_PREFIX,
  PROFILE,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  probeIncus,
} from '../test/incus/helpers.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}
const num = (name: string, def: number) => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const ROUNDS = num('rounds', 3);
const TIMEOUT_MS = num('timeout', 180) * 1000;
const IDLE_S = num('idle', 15);
const IMAGE = arg('image', 'tidepool-ide');
const POOL = 'tidepool';
const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Polls fn every 100 ms until it is true; throws after the timeout. */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** code-server's own health answer ({"status":"alive"|"expired",...}), not a proxy's page. */
const isCodeServerHealth = (body: string | undefined) => !!body && /"status"\s*:\s*"(alive|expired)"/.test(body);

async function ipOf(name: string): Promise<string | undefined> {
  const r = await incus(['list', name, '-c', '4', '-f', 'csv']);
  const ip = /(\d+\.\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1];
  return ip?.startsWith(BRIDGE_PREFIX) ? ip : undefined;
}

async function directHealth(ip: string, path = '/healthz'): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${ip}:8080${path}`, { signal: AbortSignal.timeout(1000) });
    return await res.text();
  } catch {
    return undefined;
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
  let serve: IncusServe | undefined;
  try {
    serve = await startIncusServe(dataDir, await freePorts(), env, 60_000, [
      '--image',
      `ide=${IMAGE}`,
      '--image',
      'minimal=tidepool-minimal',
    ]);
    const api = new Api(serve.address);
    const s = serve;
    const spec = { image: 'ide', resources: { cpu: 2, memory: '2Gi' } };
    console.log(
      `bench/ide: image ${IMAGE}, ${ROUNDS} round(s), load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    // ---- 1. apply → IDE answering through Caddy, vs incus launch + polling :8080 ----
    const applyTimes: number[] = [];
    const launchTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tidepool = async () => {
        const name = `ide${round}`;
        const t0 = performance.now();
        await api.apply([workspace(name, spec)]);
        await until(`${name} through Caddy`, async () =>
          isCodeServerHealth((await viaCaddy(s, `/workspace/${name}/healthz`, true, 2000))?.body),
        );
        applyTimes.push(performance.now() - t0);
        await api.delete('workspaces', name);
        await until(`${name} deleted`, async () => !(await api.get('workspaces', name)));
      };
      const launch = async () => {
        const name = `${baseMark}-l${round}`;
        const t0 = performance.now();
        await mustIncus([
          'launch',
          IMAGE,
          name,
          '-p',
          PROFILE,
          '-c',
          'limits.cpu=2',
          '-c',
          'limits.memory=2GiB',
          '-c',
          `user.bench=${baseMark}`,
          '-q',
        ]);
        await until(`${name} :8080`, async () => {
          const ip = await ipOf(name);
          return !!ip && isCodeServerHealth(await directHealth(ip));
        });
        launchTimes.push(performance.now() - t0);
        await incus(['delete', '-f', name]);
      };
      for (const side of round % 2 === 0 ? [tidepool, launch] : [launch, tidepool]) await side();
    }
    console.log(`apply → IDE through Caddy: ${applyTimes.map(secs).join(' / ')}`);
    console.log(`incus launch + :8080:      ${launchTimes.map(secs).join(' / ')}`);
    console.log(`  ratio (median): ${(median(applyTimes) / median(launchTimes)).toFixed(2)}x (target ≤ 1.2x)`);

    // ---- 3. idle memory of one IDE workspace ----
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

    // ---- 2. a clone of a workspace with a 1 GiB home ----
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
        await until(`${name} :8080`, async () => {
          const ip = await ipOf(name);
          return !!ip && (await directHealth(ip, '/')) !== undefined;
        });
        manualTimes.push(performance.now() - t0);
        await incus(['delete', '-f', name]);
        await incus(['storage', 'volume', 'delete', POOL, vol]);
      };
      for (const side of round % 2 === 0 ? [tidepool, manual] : [manual, tidepool]) await side();
    }
    console.log(`clone (fromWorkspace, 1 GiB home) apply → Ready: ${cloneTimes.map(secs).join(' / ')}`);
    console.log(
      `volume copy + init + device add + start + :8080: ${manualTimes.map(secs).join(' / ')} (the copy alone: ${copyTimes.map(secs).join(' / ')})`,
    );
    console.log(`  ratio (median): ${(median(cloneTimes) / median(manualTimes)).toFixed(2)}x (target ≤ 1.2x)`);
    await api.delete('workspaces', 'src');
    await until('src deleted', async () => !(await api.get('workspaces', 'src')));
  } finally {
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
