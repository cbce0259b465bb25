// Fixtures for the end-to-end tests against the real Incus: `tidepool serve` (the built
// binary) with the Incus runtime and its own Caddy on free loopback ports, a small REST
// client for its API, requests through Caddy, and Incus's own view of the instances.
// Every serve and Caddy pid is kept so that afterAll can end exactly what a test started.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { CONFIG_ID, IncusClient } from '../../drivers/runtime/incus/index.js';
import { closedPort, startServe, type Proc } from '../cli/helpers.js';
import { INCUS_SOCKET, sleep } from '../incus/helpers.js';

export const USER = 'e2e';
export const PASSWORD = `e2e-${randomBytes(9).toString('base64url')}`;
export const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** A fresh Tidepool id (the format api/config.ts accepts), written before serve starts so cleanup knows it even if serve never comes up. */
export async function presetId(dataDir: string, tag: string): Promise<string> {
  const id = `${tag}${randomBytes(4).toString('hex')}`
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 32);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(join(dataDir, 'id'), `${id}\n`);
  return id;
}

export interface IncusServe {
  proc: Proc;
  /** The API, http://127.0.0.1:port. */
  address: string;
  dataDir: string;
  appPort: number;
  workspacePort: number;
  previewPort: number;
}

export interface Ports {
  appPort: number;
  workspacePort: number;
  /** Where Ports are served (their own origin). */
  previewPort: number;
}

export async function freePorts(): Promise<Ports> {
  const appPort = await closedPort();
  let workspacePort = await closedPort();
  while (workspacePort === appPort) workspacePort = await closedPort();
  let previewPort = await closedPort();
  while (previewPort === appPort || previewPort === workspacePort) previewPort = await closedPort();
  return { appPort, workspacePort, previewPort };
}

/** Every serve started here, and every Caddy pid any of them logged: afterAll ends them. */
export const started: IncusServe[] = [];

/**
 * `tidepool serve --runtime incus --proxy caddy` on loopback; resolves when it logs that it is up.
 * The process is recorded in `started` before waiting, so a serve that hangs is still ended.
 */
export async function startIncusServe(
  dataDir: string,
  ports: Ports,
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  extraArgs: string[] = [],
): Promise<IncusServe> {
  const args = [
    '--runtime',
    'incus',
    '--incus-socket',
    INCUS_SOCKET,
    '--proxy',
    'caddy',
    '--app-port',
    `127.0.0.1:${ports.appPort}`,
    '--workspace-port',
    `127.0.0.1:${ports.workspacePort}`,
    '--preview-port',
    `127.0.0.1:${ports.previewPort}`,
    '--resync-period',
    '2s',
    // The default CPU budget is the host's CPUs x 4: 8 on a 2-core host, fewer than the 10
    // one-vCPU workspaces of the crash test (they would wait, rightly, as InsufficientCapacity).
    '--cpu-budget',
    '64',
    ...extraArgs,
  ];
  const served = await startServe(
    dataDir,
    { ...env, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD },
    args,
    timeoutMs,
  );
  const s: IncusServe = { proc: served.proc, address: served.address, dataDir, ...ports };
  started.push(s);
  return s;
}

/** The Caddy pids a serve logged ("Caddy serves ...", "caddy started", "caddy restarted"). */
export function caddyPids(s: IncusServe): number[] {
  const pids = new Set<number>();
  for (const line of s.proc.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { msg?: string; caddyPid?: unknown; component?: string };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (typeof rec.caddyPid !== 'number') continue;
    if (/^Caddy serves|^caddy (started|restarted|adopted)/.test(rec.msg ?? '')) pids.add(rec.caddyPid);
  }
  return [...pids];
}

/** Whether `pid` is alive and is the Caddy of this data directory (its command line names our boot config). */
export async function isOurCaddy(pid: number, dataDir: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((a) => a.endsWith('caddy')) && cmdline.includes(join(dataDir, 'caddy', 'caddy.json'));
  } catch {
    return false;
  }
}

/** The dnsmasq pids a serve logged, that are still the dnsmasq of its data directory. */
async function ourDnsmasqs(s: IncusServe): Promise<number[]> {
  const pids = new Set<number>();
  for (const line of s.proc.stdout.split('\n')) {
    const m = /"dnsmasqPid":(\d+)/.exec(line);
    if (m) pids.add(Number(m[1]));
  }
  const out: number[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(`--hostsdir=${join(s.dataDir, 'caddy', 'hosts')}`)) out.push(pid);
  }
  return out;
}

/** SIGKILLs each logged Caddy (and dnsmasq) pid of `s` that is still ours; returns the Caddy pids it killed. */
export async function killCaddies(s: IncusServe): Promise<number[]> {
  const killed: number[] = [];
  for (const pid of await ourDnsmasqs(s))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  for (const pid of caddyPids(s)) {
    if (!(await isOurCaddy(pid, s.dataDir))) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* gone meanwhile */
    }
    for (let i = 0; i < 100 && (await isOurCaddy(pid, s.dataDir)); i++) await sleep(20);
  }
  return killed;
}

/** Ends a serve: SIGTERM (it stops its Caddy), SIGKILL after 15 s, then any Caddy of it still alive. */
export async function stopServe(s: IncusServe): Promise<void> {
  const { child } = s.proc;
  if (child.exitCode === null && child.signalCode === null) {
    process.kill(s.proc.pid, 'SIGTERM');
    const done = await Promise.race([s.proc.exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!done) await s.proc.stop('SIGKILL');
  }
  await killCaddies(s);
}

// ---- the API ----

export interface Obj {
  kind: string;
  metadata: { name: string; generation?: number; uid?: string; deletionTimestamp?: string; resourceVersion?: string };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    ip?: string;
    url?: string;
    observedGeneration?: number;
    instance?: string;
    sleep?: { since: string; reason: string; lastSignal?: string };
    conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[];
  };
}

export const workspace = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name },
  // The busybox image (`minimal`: `default` is the IDE): small enough for a 2-core host running several at once.
  spec: { image: 'minimal', running: true, resources: { cpu: 1, memory: '256Mi' }, ...extra },
});
export const port = (name: string, ws: string, n: number) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Port',
  metadata: { name },
  spec: { workspace: ws, port: n },
});

export class Api {
  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: string, type?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: AUTH, ...(type ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  /** POST /api/v1/apply of the objects as a YAML stream; throws unless 200. */
  async apply(objects: object[]): Promise<void> {
    const r = await this.call(
      'POST',
      '/api/v1/apply',
      objects.map((o) => JSON.stringify(o)).join('\n---\n'),
      'application/yaml',
    );
    if (r.status !== 200) throw new Error(`apply: ${r.status} ${JSON.stringify(r.json)}`);
  }

  async get(plural: 'workspaces' | 'ports', name: string): Promise<Obj | undefined> {
    const r = await this.call('GET', `/api/v1/${plural}/${name}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`get ${plural}/${name}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json as Obj;
  }

  async setRunning(name: string, running: boolean): Promise<void> {
    await this.patchSpec(name, { running });
  }

  /** A JSON merge patch of the Workspace's spec; throws unless 200. */
  async patchSpec(name: string, spec: Record<string, unknown>): Promise<Obj> {
    const r = await this.call(
      'PATCH',
      `/api/v1/workspaces/${name}`,
      JSON.stringify({ spec }),
      'application/merge-patch+json',
    );
    if (r.status !== 200) throw new Error(`patch ${name}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json as Obj;
  }

  async delete(plural: 'workspaces' | 'ports', name: string): Promise<void> {
    const r = await this.call('DELETE', `/api/v1/${plural}/${name}`);
    if (r.status !== 200 && r.status !== 404)
      throw new Error(`delete ${plural}/${name}: ${r.status} ${JSON.stringify(r.json)}`);
  }
}

export const condition = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);
/** Ready=True, written for the current generation (not one left over from before a change). */
export const isReady = (o: Obj | undefined) =>
  !!o &&
  (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 0) &&
  condition(o, 'Ready')?.status === 'True';

// ---- through Caddy ----

/** GET <path> through Caddy (Port paths on the preview port) with the Tidepool credentials (or none); never throws. */
export async function viaCaddy(
  s: Ports,
  path: string,
  auth = true,
  timeoutMs = 4000,
): Promise<{ status: number; body: string } | undefined> {
  try {
    const port = /^\/workspace\/[^/]+\/port\//.test(path) ? s.previewPort : s.workspacePort;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: auth ? { authorization: AUTH } : {},
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** The status of GET http://127.0.0.1:<port><path> on a connection of its own (fetch would reuse one); 0 on error. */
export function freshGet(port: number, path: string, timeoutMs = 4000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, headers: { authorization: AUTH }, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

// ---- Incus's own view ----

/** The incus CLI; it reads YAML from a stdin that is not a terminal, so it gets none. */
export const incus = (args: string[], timeoutMs = 60_000) =>
  execa('incus', args, { stdin: 'ignore', reject: false, all: true, timeout: timeoutMs });

export interface Seen {
  name: string;
  status: string;
  createdAt: string;
  ip?: string;
  config: Record<string, string>;
}

/** Every Incus instance carrying user.tidepool.id=<id>, as Incus reports it. */
export async function instancesOf(id: string): Promise<Seen[]> {
  const client = new IncusClient({ socketPath: INCUS_SOCKET, requestTimeoutMs: 10_000 });
  try {
    type Raw = {
      name: string;
      status: string;
      created_at: string;
      config?: Record<string, string>;
      state?: {
        network?: Record<string, { addresses?: { family: string; scope: string; address: string }[] }> | null;
      } | null;
    };
    const all = await client.call<Raw[]>('GET', '/1.0/instances?recursion=2');
    return all
      .filter((i) => i.config?.[CONFIG_ID] === id)
      .map((i) => {
        const ip = i.state?.network?.eth0?.addresses?.find((a) => a.family === 'inet' && a.scope === 'global')?.address;
        return {
          name: i.name,
          status: i.status,
          createdAt: i.created_at,
          config: i.config ?? {},
          ...(ip ? { ip } : {}),
        };
      });
  } finally {
    await client.close();
  }
}

/** Runs `sh -c script` inside an instance (as root, or as `user` uid); exit code and output. */
export async function inside(
  instance: string,
  script: string,
  user?: number,
): Promise<{ code: number | undefined; out: string }> {
  const as =
    user === undefined
      ? []
      : ['--user', String(user), '--group', String(user), '--env', 'HOME=/home/dev', '--cwd', '/home/dev'];
  const r = await incus(['exec', instance, ...as, '--', 'sh', '-c', script], 20_000);
  return { code: r.exitCode, out: r.all ?? '' };
}

/** The custom storage volumes (homes) carrying user.tidepool.id=<id>, by name, on every pool. */
export async function volumesOf(id: string): Promise<string[]> {
  const client = new IncusClient({ socketPath: INCUS_SOCKET, requestTimeoutMs: 10_000 });
  type Volume = { name: string; type: string; config?: Record<string, string> };
  try {
    const pools = await client.call<string[]>('GET', '/1.0/storage-pools');
    const all = (await Promise.all(pools.map((p) => client.call<Volume[]>('GET', `${p}/volumes?recursion=1`)))).flat();
    return all
      .filter((v) => v.type === 'custom' && v.config?.[CONFIG_ID] === id)
      .map((v) => v.name)
      .sort();
  } finally {
    await client.close();
  }
}
