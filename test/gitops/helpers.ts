// A real folder, a real Store, a real sync: what every GitOps test starts from.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Store } from '../../store/index.js';
import type { SyncStatus, Workspace } from '../../specs/index.js';
import { startSync, type SyncEvent, type SyncHandle, type SyncOptions } from '../../gitops/index.js';
import { poll } from '../poll.js';

export function workspaceYaml(
  name: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): string {
  const lines = ['apiVersion: tidepool/v1', 'kind: Workspace', 'metadata:', `  name: ${name}`];
  if (annotations) {
    lines.push('  annotations:');
    for (const [k, v] of Object.entries(annotations)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  }
  lines.push(`spec: ${JSON.stringify(spec)}`);
  return `${lines.join('\n')}\n`;
}

export function portYaml(name: string, workspace: string, port: number): string {
  return `apiVersion: tidepool/v1\nkind: Port\nmetadata:\n  name: ${name}\nspec:\n  workspace: ${workspace}\n  port: ${port}\n`;
}

/** Polls `fn` (vitest's vi.waitFor) until it returns something truthy without throwing; fails after `timeoutMs`, naming `what`. */
export const waitFor = <T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> =>
  poll(what, fn, timeoutMs, 20) as Promise<NonNullable<T>>;

export interface Harness {
  root: string;
  dir: string;
  store: Store;
  events: SyncEvent[];
  /** Every distinct lastAttemptedRevision the Sync status has shown, in order. */
  revisions: string[];
  sync: SyncHandle;
  write(rel: string, text: string): Promise<void>;
  status(): SyncStatus;
  condition(type: string): { status: string; reason: string; message: string } | undefined;
  ws(name: string): Workspace | undefined;
  stop(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];

/** Stops every sync and removes every folder made by `harness` (call from afterEach). */
export async function cleanupAll(): Promise<void> {
  for (const c of cleanups.splice(0)) await c().catch(() => {});
}

/**
 * A temp folder (`files` written before the sync starts, unless `startWithoutFolder`), a
 * store in another temp folder, and a sync started on them.
 */
export async function harness(
  files: Record<string, string>,
  opts: Partial<Omit<SyncOptions, 'store' | 'dir'>> & { startWithoutFolder?: boolean; store?: Store } = {},
): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'tp-gitops-'));
  const dir = join(root, 'manifests');
  const store = opts.store ?? (await Store.open(join(root, 'data', 'store.json')));
  const write = async (rel: string, text: string) => {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  };
  if (!opts.startWithoutFolder) {
    await mkdir(dir, { recursive: true });
    for (const [rel, text] of Object.entries(files)) await write(rel, text);
  }
  const events: SyncEvent[] = [];
  const revisions: string[] = [];
  const name = opts.name ?? 'manifests';
  const unwatch = store.watch({ kind: 'Sync' }, (ev) => {
    if (ev.object.metadata.name !== name) return;
    const rev = (ev.object.status as SyncStatus | undefined)?.lastAttemptedRevision;
    if (rev && revisions.at(-1) !== rev) revisions.push(rev);
  });
  const { startWithoutFolder: _s, store: _st, ...syncOpts } = opts;
  const sync = await startSync({
    debounceMs: 150,
    ...syncOpts,
    name,
    store,
    dir,
    recordEvent: async (ev) => {
      events.push(ev);
    },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unwatch();
    await sync.stop();
    await store.close();
    await rm(root, { recursive: true, force: true });
  };
  cleanups.push(stop);
  const status = () => (store.get('Sync', name)?.status ?? {}) as SyncStatus;
  return {
    root,
    dir,
    store,
    events,
    revisions,
    sync,
    write,
    status,
    stop,
    condition: (type) => status().conditions?.find((c) => c.type === type),
    ws: (n) => store.get('Workspace', n),
  };
}
