// The cluster lab as the tests see it (scripts/cluster-lab.sh up writes lab.env): where the
// cluster answers, the client certificate it trusts, the members, and the egress guard's
// counter. The tests skip (with a message) only when the lab is not up and TIDEPOOL_REQUIRE_INCUS
// is unset; `make test` brings the lab up and sets it, so in CI they must run.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { createIncusRuntime, IncusClient, type IncusRuntime } from '../../drivers/runtime/incus/index.js';

export const LAB_DIR = process.env.TIDEPOOL_LAB_DIR ?? '/var/lib/tidepool/cluster-lab';

export interface Lab {
  url: string;
  /** Files of the client certificate and key and the pinned cluster certificate (for serve's flags). */
  files: { cert: string; key: string; serverCert: string };
  cert: string;
  key: string;
  serverCert: string;
  members: string[];
  /** Host instance name of a member (for pausing it). */
  instanceOf: (member: string) => string;
  /** Workspaces' addresses start with this (the flat L2 on the host's tplab1). */
  wsPrefix: string;
}

function readEnv(): Record<string, string> | undefined {
  const file = `${LAB_DIR}/lab.env`;
  if (!existsSync(file)) return undefined;
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** The lab when it is up and answers; otherwise skips (or fails under TIDEPOOL_REQUIRE_INCUS). */
export async function labOrSkip(suite: string): Promise<Lab | undefined> {
  const env = readEnv();
  let why = env ? '' : `no ${LAB_DIR}/lab.env`;
  let lab: Lab | undefined;
  if (env) {
    lab = {
      url: env.TIDEPOOL_LAB_URL!,
      files: { cert: env.TIDEPOOL_LAB_CERT!, key: env.TIDEPOOL_LAB_KEY!, serverCert: env.TIDEPOOL_LAB_SERVER_CERT! },
      cert: readFileSync(env.TIDEPOOL_LAB_CERT!, 'utf8'),
      key: readFileSync(env.TIDEPOOL_LAB_KEY!, 'utf8'),
      serverCert: readFileSync(env.TIDEPOOL_LAB_SERVER_CERT!, 'utf8'),
      members: (env.TIDEPOOL_LAB_MEMBERS ?? '').split(' ').filter(Boolean),
      instanceOf: (m) => `${env.TIDEPOOL_LAB_INSTANCE_PREFIX ?? 'tplab-'}${m}`,
      wsPrefix: (env.TIDEPOOL_LAB_WS_SUBNET ?? '10.79.1.0/24').replace(/\.\d+\/\d+$/, '.'),
    };
    // Another test file may have a member paused just now (it lets it go within a minute or two).
    const client = labClient(lab);
    try {
      for (const until = Date.now() + 180_000; ; ) {
        try {
          const members = await client.call<{ status: string }[]>('GET', '/1.0/cluster/members?recursion=1');
          const online = members.filter((m) => m.status === 'Online').length;
          why = online === lab.members.length ? '' : `${online} of ${lab.members.length} members online`;
        } catch (err) {
          why = `the lab at ${lab.url} does not answer: ${(err as Error).message}`;
        }
        if (!why || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      await client.close();
    }
  }
  if (!why) return lab;
  const msg = `${suite}: the cluster lab is not usable (${why}); run \`make cluster-lab\` (scripts/cluster-lab.sh up) as root`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return undefined;
}

export const labClient = (lab: Lab) =>
  new IncusClient({ url: lab.url, cert: lab.cert, key: lab.key, serverCert: lab.serverCert });

export const labRuntime = (lab: Lab, tidepoolId: string, extra: { target?: string } = {}): IncusRuntime =>
  createIncusRuntime({
    tidepoolId,
    url: lab.url,
    cert: lab.cert,
    key: lab.key,
    serverCert: lab.serverCert,
    profile: 'tidepool',
    stopTimeoutSeconds: 5,
    eventsBackoffMs: [100, 1000],
    ...extra,
  });

/** Force-deletes whatever carries Tidepool id `id` in the cluster: its instances, then its home volumes (on every member). */
export async function deleteLabLeftovers(lab: Lab, id: string): Promise<void> {
  const client = labClient(lab);
  type Thing = { name: string; location?: string; config?: Record<string, string> };
  try {
    const mine = (t: Thing) => t.config?.['user.tidepool.id'] === id;
    for (const i of (await client.call<Thing[]>('GET', '/1.0/instances?recursion=1')).filter(mine)) {
      await client
        .call('PUT', `/1.0/instances/${i.name}/state`, { action: 'stop', force: true })
        .catch(() => undefined);
      await client.call('DELETE', `/1.0/instances/${i.name}`).catch(() => undefined);
    }
    const vols = await client.call<Thing[]>('GET', '/1.0/storage-pools/local/volumes/custom?recursion=1');
    for (const v of vols.filter(mine))
      await client
        .call('DELETE', `/1.0/storage-pools/local/volumes/custom/${v.name}?target=${v.location}`)
        .catch(() => undefined);
  } finally {
    await client.close();
  }
}

/** Packets the lab's egress guard has dropped since it was put in place. */
export async function guardDrops(): Promise<number> {
  const { stdout } = await execa('nft', ['list', 'counter', 'inet', 'tplab-guard', 'egress'], { stdin: 'ignore' });
  const m = /packets (\d+)/.exec(stdout);
  if (!m) throw new Error(`no packet count in the guard's counter: ${stdout}`);
  return Number(m[1]);
}

/** GET http://ip:port/ from the host, only to the lab's workspace L2; the body, or undefined if it fails. */
export async function labGet(lab: Lab, ip: string, port = 8080): Promise<string | undefined> {
  if (!ip.startsWith(lab.wsPrefix))
    throw new Error(`refusing to send traffic to ${ip}: not on the lab's ${lab.wsPrefix}0/24`);
  try {
    const res = await fetch(`http://${ip}:${port}/`, { signal: AbortSignal.timeout(2000) });
    return await res.text();
  } catch {
    return undefined;
  }
}

const LOCK = '/run/lock/tidepool-cluster-lab-tests';

/**
 * One test file at a time on the lab: a file pauses a member, and another's moves would see
 * it offline. A directory made atomically holds the owner's pid; one whose owner is gone is
 * taken over. Returns the release.
 */
export async function lockLab(timeoutMs = 900_000): Promise<() => void> {
  const { mkdirSync, readFileSync: read, rmSync, writeFileSync } = await import('node:fs');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(`${LOCK}/pid`, String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch {
      const owner = Number(read(`${LOCK}/pid`, 'utf8').trim() || 0) || 0;
      let alive = owner > 0;
      try {
        if (alive) process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (!alive && owner > 0) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the cluster lab stayed locked by pid ${owner} for ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
