// ImageTemplate figures on the real Incus, each beside its baseline in the same run:
//
// 1. building a template that adds one Debian package (jq) to the default IDE image, through
//    the Incus driver (an instance from the base, apt inside, published from the instance),
//    against building the default image itself from nothing (images/ide/build.sh all: rootfs,
//    Node, code-server, configure, pack; not imported). Target: a small fraction of it.
// 2. a workspace from the built template, apply → Ready (the IDE answering on the bridge,
//    the controller in process), against a workspace on the default image, interleaved rounds
//    with the first side rotating. Target ≤ 1.1x.
//
// Run as root after `make host` (the tidepool-ide image):
//   npx tsx bench/templates.ts [--rounds 3] [--skip-base-build]
// Package downloads (the Debian mirror, the npm registry) are the builds themselves; every
// other request goes to the Incus socket or to instances on the Tidepool bridge. Everything
// made is deleted (instances, volumes and images by this run's id, the build folder).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { startController } from '../controller/index.js';
import { createMemoryProxy } from '../drivers/proxy/memory/index.js';
import { createIncusRuntime, IncusClient } from '../drivers/runtime/incus/index.js';
import { validateManifest } from '../specs/index.js';
import { Store, type Resource } from '../store/index.js';
import {
  INCUS_SOCKET,
  PROFILE,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  probeIncus,
} from '../test/incus/helpers.js';

/** Polls fn until it returns a value; throws after timeoutMs (test/poll.ts needs vitest's state). */
async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const arg = (name: string) => process.argv.indexOf(`--${name}`);
const ROUNDS = arg('rounds') >= 0 ? Number(process.argv[arg('rounds') + 1]) : 3;
const ID = `bench-tpl-${process.pid}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const manifest = (kind: string, name: string, spec: Record<string, unknown>) => {
  const r = validateManifest({ apiVersion: 'tidepool/v1', kind, metadata: { name }, spec });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as Resource;
};

async function buildBase(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'bench-ide-build-'));
  const t = performance.now();
  try {
    await execa('bash', ['images/ide/build.sh', 'all', work], { stdio: 'ignore', timeout: 1_800_000 });
    return performance.now() - t;
  } finally {
    await execa('rm', ['-rf', '--one-file-system', work]);
  }
}

/** 1. the template build (through the controller: what a user gets) against the base image's own build. */
async function buildRound(store: Store): Promise<void> {
  const t = performance.now();
  await store.transaction((tx) => void tx.create(manifest('ImageTemplate', 'jq', { debianPackages: ['jq'] })));
  await until(
    'template built',
    async () =>
      store.get('ImageTemplate', 'jq')?.status?.phase === 'Ready'
        ? true
        : store.get('ImageTemplate', 'jq')?.status?.phase === 'Failed'
          ? Promise.reject(new Error('build failed'))
          : undefined,
    1_200_000,
    500,
  );
  const template = performance.now() - t;
  console.log(`template (default + jq) built and published: ${secs(template)}`);
  if (arg('skip-base-build') < 0) {
    const base = await buildBase();
    console.log(`the default image built from nothing (build.sh all, not imported): ${secs(base)}`);
    console.log(`ratio: ${(template / base).toFixed(2)}x (target: a small fraction)`);
  }
}

/** 2. apply → Ready from the template and from the default image, interleaved. */
async function applyRounds(store: Store): Promise<void> {
  const times: Record<string, number[]> = { default: [], jq: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['jq', 'default'] : ['default', 'jq'];
    for (const image of order) {
      const name = `b-${image}-${round}`;
      const t = performance.now();
      await store.transaction(
        (tx) => void tx.create(manifest('Workspace', name, { image, resources: { cpu: 1, memory: '1Gi' } })),
      );
      await until(
        `${name} Ready`,
        async () =>
          store.get('Workspace', name)?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
            ? true
            : undefined,
        300_000,
        50,
      );
      times[image]!.push(performance.now() - t);
      await store.transaction((tx) => void tx.delete('Workspace', name));
      await until(`${name} gone`, async () => (store.get('Workspace', name) ? undefined : true), 120_000, 200);
    }
    console.log(
      `round ${round + 1}: template ${secs(times.jq!.at(-1)!)}, default ${secs(times.default!.at(-1)!)}, ratio ${(times.jq!.at(-1)! / times.default!.at(-1)!).toFixed(2)}x`,
    );
  }
  console.log(
    `apply → Ready, medians: template ${secs(median(times.jq!))}, default ${secs(median(times.default!))}, ratio ${(median(times.jq!) / median(times.default!)).toFixed(2)}x (target ≤ 1.1x)`,
  );
}

async function main(): Promise<void> {
  const probe = await probeIncus();
  if (!probe.ok) throw new Error(`Incus is not usable: ${probe.why}`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-templates-'));
  const store = await Store.open(join(dir, 'store.json'));
  const runtime = createIncusRuntime({
    tidepoolId: ID,
    socketPath: INCUS_SOCKET,
    profile: PROFILE,
    stopTimeoutSeconds: 10,
  });
  const controller = await startController({
    store,
    runtime,
    proxy: createMemoryProxy(),
    dataDir: dir,
    resyncPeriodMs: 5000,
  });
  const client = new IncusClient({ socketPath: INCUS_SOCKET });
  try {
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    await buildRound(store);
    await applyRounds(store);
  } finally {
    await controller.stop();
    await runtime.close?.();
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
    type Image = { fingerprint: string; properties?: Record<string, string> };
    for (const i of (await client.call<Image[]>('GET', '/1.0/images?recursion=1')).filter(
      (x) => x.properties?.['tidepool.id'] === ID,
    ))
      await client
        .call('DELETE', `/1.0/images/${i.fingerprint}`, undefined, { waitSeconds: 120 })
        .catch(() => undefined);
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
