// Runtime figures on the real Incus: N workspaces from nothing until every one has an IP and
// answers HTTP on :8080, through Tidepool, side by side in one run with plain `incus launch`
// of the same N from the same image, in parallel. Prints both times and the ratio (target ≤ 1.25x).
//
// Run (as root, after `bash scripts/setup-host.sh`):
//   npx tsx bench/runtime.ts [--n 20] [--rounds 2] [--timeout 120]
// Rounds alternate which side goes first. Traffic goes only to instances on the Tidepool
// bridge; every wait is bounded by --timeout seconds; everything created is deleted.
//
// The Tidepool side is one function, `tidepoolSide`: today it drives the Incus runtime driver
// directly (create+start in parallel, then list() until every VM has an IP). Once the
// controller exists, swap it for one that applies N Workspaces and waits for Ready.
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { createIncusRuntime, IncusClient, CONFIG_ID } from '../controller/drivers/runtime/incus/index.js';
import { MINIMAL_IMAGE_ALIAS } from '../controller/drivers/runtime/images.js';
import { BRIDGE_PREFIX, INCUS_SOCKET, PROFILE, deleteByTidepoolId, httpGet, probeIncus } from '../test/incus/helpers.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const N = arg('n', 20);
const ROUNDS = arg('rounds', 2);
const TIMEOUT_MS = arg('timeout', 120) * 1000;
const CPU = 2;
const MEMORY_BYTES = 4 * 2 ** 30;
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Side {
  name: string;
  /** Brings up `names` from nothing; resolves when every one has an IP and answers on :8080. */
  up(names: string[], deadline: number): Promise<void>;
  /** Removes what up() made (not timed). */
  cleanup(): Promise<void>;
}

/** Waits until every name has an IP (from `ips()`) and answers HTTP 200 on :8080. */
async function untilAllAnswer(names: string[], ips: () => Promise<Map<string, string>>, deadline: number): Promise<void> {
  const pending = new Set(names);
  while (pending.size) {
    if (performance.now() > deadline) throw new Error(`timed out: ${pending.size} of ${names.length} not answering (${[...pending].slice(0, 5).join(', ')}...)`);
    const byName = await ips();
    await Promise.all(
      [...pending].map(async (n) => {
        const ip = byName.get(n);
        if (!ip || !ip.startsWith(BRIDGE_PREFIX)) return;
        const r = await httpGet(ip, 8080, 1000);
        if (r?.status === 200) pending.delete(n);
      }),
    );
    if (pending.size) await sleep(50);
  }
}

/** Tidepool: the runtime driver, as the controller uses it. Replace with the controller path later. */
function tidepoolSide(round: number): Side {
  const tidepoolId = `bench-${RUN}-${round}`;
  const driver = createIncusRuntime({ tidepoolId, socketPath: INCUS_SOCKET, profile: PROFILE });
  return {
    name: 'tidepool',
    async up(names, deadline) {
      await Promise.all(names.map((name) => driver.create({ name, image: 'default', cpu: CPU, memoryBytes: MEMORY_BYTES, start: true })));
      await untilAllAnswer(names, async () => new Map((await driver.list()).filter((v) => v.ip).map((v) => [v.name, v.ip!])), deadline);
    },
    async cleanup() {
      await driver.close?.();
      await deleteByTidepoolId(tidepoolId);
    },
  };
}

/** The baseline: `incus launch` of the same image, all in parallel, polled through the same REST list. */
function incusLaunchSide(round: number): Side {
  const mark = `bench-launch-${RUN}-${round}`;
  const client = new IncusClient({ socketPath: INCUS_SOCKET });
  return {
    name: 'incus launch',
    async up(names, deadline) {
      await Promise.all(
        names.map((n) =>
          execa('incus', ['launch', MINIMAL_IMAGE_ALIAS, n, '-p', PROFILE, '-c', `limits.cpu=${CPU}`, '-c', 'limits.memory=4GiB', '-c', `${CONFIG_ID}=${mark}`, '-q'], {
            stdin: 'ignore', timeout: TIMEOUT_MS,
          }),
        ),
      );
      await untilAllAnswer(names, async () => {
        const all = await client.call<{ name: string; state?: { network?: Record<string, { addresses?: { family: string; scope: string; address: string }[] }> } }[]>('GET', '/1.0/instances?recursion=2');
        const m = new Map<string, string>();
        for (const i of all) {
          const a = i.state?.network?.eth0?.addresses?.find((x) => x.family === 'inet' && x.scope === 'global');
          if (a) m.set(i.name, a.address);
        }
        return m;
      }, deadline);
    },
    async cleanup() {
      await client.close();
      await deleteByTidepoolId(mark);
    },
  };
}

async function timed(side: Side, names: string[]): Promise<number> {
  const t0 = performance.now();
  try {
    await side.up(names, t0 + TIMEOUT_MS);
    return performance.now() - t0;
  } finally {
    await side.cleanup();
  }
}

async function main() {
  const probe = await probeIncus();
  if (!probe.ok) {
    console.error(`bench/runtime: Incus is not usable (${probe.why}); run \`bash scripts/setup-host.sh\` as root first.`);
    process.exit(2);
  }
  const { stdout: version } = await execa('incus', ['version'], { stdin: 'ignore', reject: false });
  console.log(`bench/runtime: ${N} workspaces from nothing (image ${MINIMAL_IMAGE_ALIAS}, ${CPU} vCPU, 4 GiB), until all have an IP and answer on :8080`);
  console.log(`  ${version.replace(/\n/g, ', ')}; ${ROUNDS} round(s), alternating which side goes first`);

  const results: Record<string, number[]> = { tidepool: [], 'incus launch': [] };
  for (let round = 0; round < ROUNDS; round++) {
    const sides = [tidepoolSide(round), incusLaunchSide(round)];
    if (round % 2) sides.reverse();
    for (const side of sides) {
      // Workspace names for Tidepool (the driver adds its suffix); unique instance names for launch.
      const names = Array.from({ length: N }, (_, i) => (side.name === 'tidepool' ? `ws-${i}` : `bl-${RUN}-${round}-${i}`));
      const ms = await timed(side, names);
      results[side.name]!.push(ms);
      console.log(`  round ${round + 1}: ${side.name.padEnd(12)} ${(ms / 1000).toFixed(2)} s`);
      await sleep(500);
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const tp = median(results.tidepool!);
  const bl = median(results['incus launch']!);
  const ratio = tp / bl;
  console.log(`\n  median  tidepool     ${(tp / 1000).toFixed(2)} s`);
  console.log(`  median  incus launch ${(bl / 1000).toFixed(2)} s`);
  console.log(`  ratio   ${ratio.toFixed(2)}x (target within 1.25x: ${ratio <= 1.25 ? 'met' : 'NOT met'})`);
}

main().catch(async (err) => {
  console.error(`bench/runtime failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
