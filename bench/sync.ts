// GitOps sync figures: a folder of 1000 Workspace files.
//   1. time from startSync to all 1000 applied in the store;
//   2. time from one file edit (a plain write) to the change being in the store, repeated;
//      target: within 1 s, debounce (default 250 ms) included.
// Run: npx tsx bench/sync.ts [--files 1000] [--edits 9] [--debounce 250]
// Only the local disk and an in-process store: no network at all.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../store/index.js';
import { startSync } from '../gitops/index.js';
import { median } from './lib/median.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}

const FILES = arg('files', 1000);
const EDITS = Math.max(1, arg('edits', 9));
const DEBOUNCE = arg('debounce', 250);
const EDIT_TIMEOUT_MS = 30_000;

const yaml = (i: number, cpu: number) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ws-${i}\n  labels: {bench: sync}\nspec:\n  image: default\n  running: true\n  resources: {cpu: ${cpu}, memory: 2Gi}\n`;

const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main() {
  const root = await mkdtemp(join(tmpdir(), 'tp-bench-sync-'));
  const dir = join(root, 'manifests');
  await mkdir(dir);
  try {
    for (let i = 0; i < FILES; i++) await writeFile(join(dir, `ws-${String(i).padStart(4, '0')}.yaml`), yaml(i, 2));
    const store = await Store.open(join(root, 'data', 'store.json'));

    const t0 = performance.now();
    const sync = await startSync({ store, name: 'bench', dir, debounceMs: DEBOUNCE });
    const applied = store.list('Workspace').items.length;
    const tStart = performance.now() - t0;
    if (applied !== FILES) throw new Error(`after startSync ${applied} of ${FILES} Workspaces are in the store`);
    const st = store.get('Sync', 'bench')?.status as { conditions?: { type: string; status: string }[] } | undefined;
    if (st?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True')
      throw new Error(`sync not Ready: ${JSON.stringify(st)}`);
    console.log(`files: ${FILES} Workspace manifests, debounce ${DEBOUNCE} ms`);
    console.log(`start → all ${FILES} applied: ${ms(tStart)}`);

    const lat: number[] = [];
    for (let n = 0; n < EDITS; n++) {
      const i = Math.floor((n * FILES) / EDITS);
      const name = `ws-${i}`;
      const cpu = 3 + (n % 60);
      // Let the previous revision settle (the watcher and the last apply), then edit one file.
      await new Promise((r) => setTimeout(r, DEBOUNCE + 200));
      const landed = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          unwatch();
          reject(new Error(`edit ${n} not applied within ${EDIT_TIMEOUT_MS} ms`));
        }, EDIT_TIMEOUT_MS);
        const unwatch = store.watch({ kind: 'Workspace' }, (ev) => {
          if (ev.object.metadata.name === name && ev.object.spec?.resources?.cpu === cpu) {
            clearTimeout(timer);
            unwatch();
            resolve(performance.now());
          }
        });
      });
      const t = performance.now();
      await writeFile(join(dir, `ws-${String(i).padStart(4, '0')}.yaml`), yaml(i, cpu));
      lat.push((await landed) - t);
    }
    console.log(
      `one file edit → in the store (${EDITS} edits): median ${ms(median(lat))}, max ${ms(Math.max(...lat))}` +
        `  [${lat.map((x) => x.toFixed(0)).join(', ')}]`,
    );
    console.log(
      Math.max(...lat) <= 1000
        ? 'target met: every edit landed within 1 s'
        : 'TARGET MISSED: an edit took more than 1 s',
    );

    // What a forced re-apply of the whole folder costs (the self-heal every interval).
    const th = performance.now();
    await sync.resync();
    console.log(`self-heal (read + apply all ${FILES}, nothing changed): ${ms(performance.now() - th)}`);

    await sync.stop();
    await store.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
