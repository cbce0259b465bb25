// API throughput, side by side in one run (autocannon, loopback only, every run bounded):
//   - GET /api/v1/workspaces with 100 Workspaces (basic auth, as a client sends it);
//   - POST /api/v1/apply of a small manifest (2 Workspaces and 1 Port) that is already
//     applied: every request parses, validates and compares, and writes nothing ("unchanged");
//   - a bare Fastify route returning a JSON body of the same size as the list, twice: the
//     object (Fastify serializes it per request) and the same JSON pre-serialized (a string).
// Prints req/s of each and the ratio list / bare (target: at least 0.5).
// The servers run in a child process so that the load generator does not share their CPU.
// Run: npx tsx bench/api.ts [--duration 5] [--connections 10]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Store } from '../store/index.js';
import { startServer } from '../api/server.js';
import { applyDocuments } from '../store/apply/index.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const CREDS = { username: 'bench', password: 'bench-password-not-secret' };
const AUTH = `Basic ${Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64')}`;

const MANIFEST = `apiVersion: tidepool/v1
kind: Workspace
metadata:
  name: bench-a
  labels: {team: bench}
spec:
  resources: {cpu: 2, memory: 4Gi}
---
apiVersion: tidepool/v1
kind: Workspace
metadata:
  name: bench-b
spec:
  running: false
---
apiVersion: tidepool/v1
kind: Port
metadata:
  name: bench-a-3000
spec: {workspace: bench-a, port: 3000}
`;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** Child mode: the API server (100 Workspaces, the manifest applied) and the bare server. */
async function serve(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-bench-api-'));
  const store = await Store.open(join(dir, 'store.json'));
  await store.transaction((tx) => {
    for (let i = 0; i < 100; i++) {
      tx.create({
        apiVersion: 'tidepool/v1',
        kind: 'Workspace',
        metadata: { name: `ws-${String(i).padStart(3, '0')}`, labels: { team: i % 2 ? 'web' : 'api', tier: 'bench' } },
        spec: { image: 'default', running: i % 3 !== 0, resources: { cpu: 2, memory: '4Gi' } },
      });
    }
  });
  // Give them the status a controller would write, so the list has a realistic size.
  await store.transaction((tx) => {
    for (const o of tx.list('Workspace')) {
      tx.updateStatus('Workspace', o.metadata.name, {
        phase: 'Running',
        observedGeneration: 1,
        ip: '10.77.0.10',
        url: `/workspace/${o.metadata.name}/`,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Running',
            message: 'code-server answers',
            lastTransitionTime: '2024-01-01T00:00:00Z',
            observedGeneration: 1,
          },
        ],
      });
    }
  });
  await applyDocuments(store, [{ name: 'bench.yaml', text: MANIFEST }]);
  const api = await startServer({ store, credentials: CREDS, listen: '127.0.0.1:0', logger: false });

  const listText = await (await fetch(`${api.address}/api/v1/workspaces`, { headers: { authorization: AUTH } })).text();
  const listObject = JSON.parse(listText) as unknown;
  const bare = Fastify({ logger: false });
  bare.get('/object', async () => listObject);
  bare.get('/string', async (_req, reply) => reply.type('application/json; charset=utf-8').send(listText));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareAddr = bare.server.address() as { port: number };

  process.stdout.write(
    `${JSON.stringify({ api: api.address, bare: `http://127.0.0.1:${bareAddr.port}`, listBytes: Buffer.byteLength(listText) })}\n`,
  );
  const stop = async () => {
    await api.close();
    await bare.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop()); // the parent went away
  process.stdin.resume();
}

async function main(): Promise<void> {
  const duration = arg('duration', 5);
  const connections = arg('connections', 10);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ api: string; bare: string; listBytes: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
    });
    child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });

  try {
    const run = async (title: string, opts: Record<string, unknown>) => {
      await autocannon({ ...opts, connections, duration: 1 }); // warm-up (JIT, caches)
      const r = await autocannon({ ...opts, connections, duration });
      if (r.non2xx || r.errors) throw new Error(`${title}: ${r.non2xx} non-2xx replies, ${r.errors} errors`);
      return { title, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
    };
    const rows = [
      await run('bare Fastify route, object (serialized per request)', { url: `${info.bare}/object` }),
      await run('bare Fastify route, pre-serialized string', { url: `${info.bare}/string` }),
      await run('GET /api/v1/workspaces (100 objects, basic auth)', {
        url: `${info.api}/api/v1/workspaces`,
        headers: { authorization: AUTH },
      }),
      await run('POST /api/v1/apply (3 objects, all unchanged)', {
        url: `${info.api}/api/v1/apply`,
        method: 'POST',
        body: MANIFEST,
        headers: { authorization: AUTH, 'content-type': 'application/yaml' },
      }),
    ];
    const [bareObj, bareStr, list, apply] = rows as [
      (typeof rows)[0],
      (typeof rows)[0],
      (typeof rows)[0],
      (typeof rows)[0],
    ];
    console.log(
      `Tidepool API bench: ${connections} connections, ${duration} s per run (after a 1 s warm-up), loopback; list body ${info.listBytes} bytes`,
    );
    for (const r of rows) {
      console.log(
        `  ${r.title.padEnd(56)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50} ms  p99 ${r.p99} ms  (${r.total} requests)`,
      );
    }
    console.log(`  ratio list / bare (object):            ${(list.rps / bareObj.rps).toFixed(2)}  (target >= 0.5)`);
    console.log(`  ratio list / bare (pre-serialized):    ${(list.rps / bareStr.rps).toFixed(2)}  (target >= 0.5)`);
    console.log(`  ratio apply (unchanged) / bare (object): ${(apply.rps / bareObj.rps).toFixed(2)}`);
    const ok = list.rps >= 0.5 * Math.max(bareObj.rps, bareStr.rps);
    console.log(ok ? 'list target met' : 'list target NOT met');
    process.exitCode = ok ? 0 : 1;
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
