// Fixtures for the end-to-end Caddy tests: `tidepool serve --runtime stub --proxy caddy` (the
// built binary) on free loopback ports, its JSON log read as records, a small REST client for
// its API, and a Caddy of our own for the tests that drive an existing admin endpoint.
// WebSockets and fake upstreams reuse test/caddy/helpers.ts (openSocket, echo, fakeServer): the
// serves here run with its USER and PASSWORD.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { closedPort, Proc, tp } from '../cli/helpers.js';
import { AUTH, PASSWORD, USER, alive, waitFor } from '../caddy/helpers.js';

export { AUTH, PASSWORD, USER, alive };

/** One parsed line of serve's JSON log. pino repeats `pid` when a record carries its own; the last one (the record's) wins. */
export type LogRecord = Record<string, unknown> & { msg?: string };

export function records(proc: Proc): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of proc.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      /* the last line may be partial */
    }
  }
  return out;
}

/** How many records say exactly `msg`. */
export const countMsg = (proc: Proc, msg: string) => records(proc).filter((r) => r.msg === msg).length;

/** The command line of `pid` (empty when it is gone): checked before any signal goes to a pid read from a log. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export const isCaddy = (pid: number) => alive(pid) && /(^|\/)caddy run\b/.test(cmdline(pid));

export interface CaddyServe {
  proc: Proc;
  /** The API, http://127.0.0.1:port (not through Caddy). */
  address: string;
  dataDir: string;
  appUrl: string;
  workspaceUrl: string;
  previewUrl: string;
  /** Environment for `tp` (server and credentials). */
  env: NodeJS.ProcessEnv;
}

/**
 * `tidepool serve --runtime stub --proxy caddy` with both Caddy servers on free 127.0.0.1
 * ports and a 2 s resync; `extra` adds flags (e.g. --caddy-admin). `started` gets the
 * process before it is up, so afterAll ends it even when start-up fails or hangs.
 */
export async function startCaddyServe(
  dataDir: string,
  baseEnv: NodeJS.ProcessEnv,
  started: Proc[],
  opts: { extra?: string[]; workspacePort?: number; ports?: { app: number; workspace: number; preview: number } } = {},
): Promise<CaddyServe> {
  const appPort = opts.ports?.app ?? (await closedPort());
  let workspacePort = opts.ports?.workspace ?? opts.workspacePort ?? (await closedPort());
  while (workspacePort === appPort) workspacePort = await closedPort();
  let previewPort = opts.ports?.preview ?? (await closedPort());
  while (previewPort === appPort || previewPort === workspacePort) previewPort = await closedPort();
  const env = { ...baseEnv, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD };
  const proc = new Proc(
    [
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--runtime',
      'stub',
      '--proxy',
      'caddy',
      '--app-port',
      `127.0.0.1:${appPort}`,
      '--workspace-port',
      `127.0.0.1:${workspacePort}`,
      '--preview-port',
      `127.0.0.1:${previewPort}`,
      '--resync-period',
      '2s',
      ...(opts.extra ?? []),
    ],
    env,
  );
  started.push(proc);
  let address: string | undefined;
  await proc.waitFor(() => {
    const up = records(proc).find((r) => r.ready === true && typeof r.address === 'string');
    address = up?.address as string | undefined;
    return address !== undefined;
  }, 60_000);
  return {
    proc,
    address: address!,
    dataDir,
    appUrl: `http://127.0.0.1:${appPort}`,
    workspaceUrl: `http://127.0.0.1:${workspacePort}`,
    previewUrl: `http://127.0.0.1:${previewPort}`,
    env: { ...env, TIDEPOOL_SERVER: address! },
  };
}

/**
 * The Caddy serve started, from its log line "Caddy serves the UI and API on ...": `caddyPid`
 * is there only when serve runs a Caddy of its own (not with --caddy-admin).
 */
export function caddyLine(proc: Proc): {
  pid: number | undefined;
  admin: string;
  dnsmasqPid?: number;
  adopted?: { caddy: boolean; dnsmasq: boolean };
} {
  const rec = records(proc).find(
    (r) => typeof r.msg === 'string' && r.msg.startsWith('Caddy serves the UI and API on'),
  );
  if (!rec) throw new Error(`serve did not log where Caddy serves:\n${proc.stdout}`);
  return {
    pid: typeof rec.caddyPid === 'number' ? rec.caddyPid : undefined,
    admin: String(rec.admin),
    ...(typeof rec.dnsmasqPid === 'number' ? { dnsmasqPid: rec.dnsmasqPid } : {}),
    ...(rec.adopted ? { adopted: rec.adopted as { caddy: boolean; dnsmasq: boolean } } : {}),
  };
}

export const isDnsmasq = (pid: number) => alive(pid) && /(^|\/)dnsmasq\b/.test(cmdline(pid));

const agent = new Agent({ connect: { timeout: 3_000 }, headersTimeout: 10_000, bodyTimeout: 10_000 });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request through Caddy on a connection of its own (a reload closes Caddy's idle
 * connections, and a pooled one could be reused just as it closes); redirects not followed.
 * auth: true = the right credentials, a string = that Authorization header, false = none.
 */
export async function get(url: string, auth: boolean | string = true): Promise<Reply> {
  const headers: Record<string, string> = { connection: 'close' };
  if (auth !== false) headers.authorization = auth === true ? AUTH : auth;
  const res = await request(url, { dispatcher: agent, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
export interface Obj {
  metadata: { name: string };
  status?: { ip?: string; phase?: string; conditions?: Condition[] };
}

/** GET of one object through the REST API (basic auth). */
export async function getObject(s: CaddyServe, plural: 'workspaces' | 'ports', name: string): Promise<Obj> {
  const res = await fetch(`${s.address}/api/v1/${plural}/${name}`, { headers: { authorization: AUTH } });
  if (res.status !== 200) throw new Error(`GET ${plural}/${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Obj;
}

export const condition = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);

/** Waits until `test` holds for the object, and returns it; the error names the last status seen. */
export async function waitObject(
  s: CaddyServe,
  plural: 'workspaces' | 'ports',
  name: string,
  what: string,
  test: (o: Obj) => boolean,
  timeoutMs = 30_000,
): Promise<Obj> {
  let last: Obj | undefined;
  try {
    return await waitFor(
      what,
      async () => {
        last = await getObject(s, plural, name);
        return test(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status of ${plural}/${name}: ${JSON.stringify(last?.status)}`);
  }
}

/** `tidepool apply -f` of a manifest written to `dir`; throws with the CLI's output when it fails. */
export async function applyManifest(s: CaddyServe, dir: string, file: string, yaml: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, yaml);
  const r = await tp(['apply', '-f', path], { env: s.env });
  if (r.code !== 0) throw new Error(`apply -f ${file} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `tidepool wait TARGET --for=condition=Ready`; throws with the CLI's output when it fails. */
export async function waitReady(s: CaddyServe, target: string, timeout = '60s'): Promise<void> {
  const r = await tp(['wait', target, '--for=condition=Ready', `--timeout=${timeout}`], {
    env: s.env,
    timeoutMs: 90_000,
  });
  if (r.code !== 0) throw new Error(`wait ${target} failed (${r.code}): ${r.stderr}${r.stdout}`);
}

export const workspaceYaml = (name: string) =>
  `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: ${name}\nspec:\n  running: true\n  resources: {cpu: 1, memory: 512Mi}\n`;
export const portYaml = (name: string, workspace: string, port: number) =>
  `apiVersion: tidepool/v1\nkind: Port\nmetadata:\n  name: ${name}\nspec:\n  workspace: ${workspace}\n  port: ${port}\n`;

/** A raw call to a Caddy admin API (Host 127.0.0.1:P passes its host check). */
export async function adminCall(
  adminUrl: string,
  method: 'GET' | 'DELETE',
  path: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(new URL(path, adminUrl), { method, headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}

/** A raw call to the admin API on the unix socket serve logs as "unix//path" (Caddy wants an empty Host there). */
export async function adminSocketCall(
  admin: string,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  const dispatcher = new Agent({ connect: { socketPath: admin.replace(/^unix\//, '') } });
  try {
    const res = await request(`http://localhost${path}`, {
      method,
      dispatcher,
      body,
      headers: { host: '', connection: 'close', ...(body ? { 'content-type': 'application/json' } : {}) },
    });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

/** A Caddy of our own with only an admin API on `adminPort` (what `--caddy-admin` drives). */
export class OwnCaddy {
  child: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly adminPort: number,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    await mkdir(join(this.dir, 'data'), { recursive: true });
    await mkdir(join(this.dir, 'config'), { recursive: true });
    const boot = join(this.dir, 'boot.json');
    await writeFile(
      boot,
      JSON.stringify({ admin: { listen: `127.0.0.1:${this.adminPort}`, config: { persist: false } } }),
    );
    const log = await open(join(this.dir, 'caddy.log'), 'a');
    this.child = spawn('caddy', ['run', '--config', boot], {
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, XDG_DATA_HOME: join(this.dir, 'data'), XDG_CONFIG_HOME: join(this.dir, 'config') },
    });
    await log.close();
    const child = this.child;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`our caddy exited at start-up; see ${join(this.dir, 'caddy.log')}`);
      const ok = await adminCall(`http://127.0.0.1:${this.adminPort}`, 'GET', '/config/').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`our caddy's admin API did not answer on port ${this.adminPort}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Ends our Caddy (by its pid) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid!, signal);
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5_000);
    await gone;
    clearTimeout(timer);
  }
}
