// Store write cost with a big store, side by side in one run: today's store (this branch:
// snapshot + append-only journal, a big apply prepared in slices) and the API and store
// before it (the whole file rewritten on every commit; their code taken from git, the
// commit this branch started from), each on loopback, each holding 1,000 Workspaces, 4,000 Ports and 10,000
// Events. Measures:
//   - PATCH p50/p99 of a Workspace (a label change), sequential, 300 requests;
//   - the longest event-loop stall while a 1 MiB JSON apply (new Workspaces) runs.
// Targets: PATCH p50 <= 10 ms, stall <= 100 ms. Prints both and the ratios.
// Run: npx tsx bench/store.ts [--patches 300] [--baseline-ref REF]
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fetch } from 'undici';
import { Store } from '../store/index.js';
import { startServer } from '../api/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const PATCHES = Number(arg('patches', '300'));
const CREDS = { username: 'bench', password: 'bench-password-not-secret' };
const AUTH = `Basic ${Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64')}`;

interface AnyStore {
  transaction<T>(fn: (tx: any) => T): Promise<T>;
  close(): Promise<void>;
}
type Opener = (path: string) => Promise<AnyStore>;

const meta = (name: string, labels: Record<string, string> = {}) => ({ name, labels });
const wsManifest = (name: string) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: meta(name, { team: 'bench' }),
  spec: { image: 'default', running: false, resources: { cpu: 1, memory: '1Gi' } },
});

async function populate(store: AnyStore): Promise<void> {
  const batch = async (fn: (tx: any) => void) => store.transaction(fn);
  for (let b = 0; b < 10; b++) {
    await batch((tx) => {
      for (let i = b * 100; i < (b + 1) * 100; i++) tx.create(wsManifest(`ws-${i}`));
    });
  }
  for (let b = 0; b < 10; b++) {
    await batch((tx) => {
      for (let i = b * 100; i < (b + 1) * 100; i++) {
        for (let k = 0; k < 4; k++)
          tx.create({
            apiVersion: 'tidepool/v1',
            kind: 'Port',
            metadata: meta(`p-${i}-${k}`),
            spec: { workspace: `ws-${i}`, port: 3000 + k },
          });
      }
    });
  }
  const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (let b = 0; b < 20; b++) {
    await batch((tx) => {
      for (let i = b * 500; i < (b + 1) * 500; i++) {
        tx.create({
          apiVersion: 'tidepool/v1',
          kind: 'Event',
          metadata: { name: `ev-${i}` },
          regarding: { kind: 'Workspace', name: `ws-${i % 1000}` },
          reason: 'Bench',
          note: `event ${i} of the benchmark`,
          type: 'Normal',
          count: 1,
          firstTimestamp: ts,
          lastTimestamp: ts,
          reportingController: 'bench',
        });
      }
    });
  }
}

function applyBody(): string {
  const limit = 2 ** 20 - 8192; // just under the 1 MiB body limit
  const make = (n: number) =>
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'List',
        items: Array.from({ length: n }, (_, i) => {
          const o = wsManifest(`apply-${i}`);
          (o.metadata.labels as Record<string, string>).n = String(i);
          return o;
        }),
      },
      null,
      1,
    ); // one field per line, as a person or a tool writes it (the API before this branch reads JSON with its YAML parser, which refuses 1 MiB on one line)
  let n = 4000;
  let body = make(n);
  while (body.length > limit || limit - body.length > 1000) {
    n = Math.floor(n * (limit / body.length)) - (body.length > limit ? 1 : 0);
    body = make(n);
    if (body.length <= limit && limit - body.length <= 4000) break;
  }
  return body;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function measure(
  label: string,
  open: Opener,
  serve: Serve,
): Promise<{ p50: number; p99: number; stall: number; applyMs: number; applied: number }> {
  const dir = await mkdtemp(join(tmpdir(), `tp-bench-store-${label}-`));
  try {
    const store = await open(join(dir, 'store.json'));
    await populate(store);
    const server = await serve({
      store: store as unknown as Store,
      listen: '127.0.0.1:0',
      logger: false,
      credentials: CREDS,
    });
    const url = server.address;
    const lat: number[] = [];
    for (let i = 0; i < PATCHES; i++) {
      const t0 = performance.now();
      const r = await fetch(`${url}/api/v1/workspaces/ws-${(i * 37) % 1000}`, {
        method: 'PATCH',
        headers: { authorization: AUTH, 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels: { round: String(i) } } }),
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${label}: PATCH answered ${r.status}`);
      lat.push(performance.now() - t0);
    }
    const body = applyBody();
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const t0 = performance.now();
    const r = await fetch(`${url}/api/v1/apply`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body,
    });
    const result = (await r.json()) as { results?: unknown[]; message?: string };
    const applyMs = performance.now() - t0;
    h.disable();
    if (r.status !== 200) throw new Error(`${label}: apply answered ${r.status}: ${result.message}`);
    await server.close();
    await store.close();
    return {
      p50: pct(lat, 0.5),
      p99: pct(lat, 0.99),
      stall: h.max / 1e6,
      applyMs,
      applied: result.results?.length ?? 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Serve = typeof startServer;

/** The API and store as they were at `ref`, checked out beside this tree (api/ and specs/). */
async function baseline(ref: string): Promise<{ open: Opener; serve: Serve; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-baseline-'));
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${ref}" api specs | tar -x -C "${dir}"`]);
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const storeMod = (await import(pathToFileURL(join(dir, 'api', 'store', 'index.ts')).href)) as {
    Store: { open(p: string, o?: object): Promise<AnyStore> };
  };
  const serverMod = (await import(pathToFileURL(join(dir, 'api', 'server.ts')).href)) as { startServer: Serve };
  return {
    open: (p) => storeMod.Store.open(p, { maxEvents: 20_000 }),
    serve: serverMod.startServer,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const ref = arg(
  'baseline-ref',
  execFileSync('git', ['-C', ROOT, 'merge-base', 'HEAD', 'main'], { encoding: 'utf8' }).trim(),
);
const before = await baseline(ref);
try {
  const old = await measure('whole-file', before.open, before.serve);
  const now = await measure('journal', (p) => Store.open(p, { maxEvents: 20_000 }), startServer);
  const f = (n: number) => n.toFixed(1).padStart(8);
  console.log(
    `store: 1000 Workspaces, 4000 Ports, 10000 Events; ${PATCHES} PATCHes; 1 MiB JSON apply (${now.applied} Workspaces)`,
  );
  console.log(`                        p50 ms   p99 ms  stall ms  apply ms`);
  console.log(`before (${ref.slice(0, 7)})      ${f(old.p50)} ${f(old.p99)} ${f(old.stall)} ${f(old.applyMs)}`);
  console.log(`journal (this tree)   ${f(now.p50)} ${f(now.p99)} ${f(now.stall)} ${f(now.applyMs)}`);
  console.log(
    `ratio whole/journal   ${f(old.p50 / now.p50)} ${f(old.p99 / now.p99)} ${f(old.stall / now.stall)} ${f(old.applyMs / now.applyMs)}`,
  );
  console.log(
    `targets: PATCH p50 <= 10 ms: ${now.p50 <= 10 ? 'met' : 'NOT met'}; stall <= 100 ms: ${now.stall <= 100 ? 'met' : 'NOT met'}`,
  );
} finally {
  await before.cleanup();
}
