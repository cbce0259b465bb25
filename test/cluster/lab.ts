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
      cert: readFileSync(env.TIDEPOOL_LAB_CERT!, 'utf8'),
      key: readFileSync(env.TIDEPOOL_LAB_KEY!, 'utf8'),
      serverCert: readFileSync(env.TIDEPOOL_LAB_SERVER_CERT!, 'utf8'),
      members: (env.TIDEPOOL_LAB_MEMBERS ?? '').split(' ').filter(Boolean),
      instanceOf: (m) => `${env.TIDEPOOL_LAB_INSTANCE_PREFIX ?? 'tplab-'}${m}`,
      wsPrefix: (env.TIDEPOOL_LAB_WS_SUBNET ?? '10.79.1.0/24').replace(/\.\d+\/\d+$/, '.'),
    };
    const client = labClient(lab);
    try {
      const members = await client.call<{ status: string }[]>('GET', '/1.0/cluster/members?recursion=1');
      const online = members.filter((m) => m.status === 'Online').length;
      if (online !== lab.members.length) why = `${online} of ${lab.members.length} members online`;
    } catch (err) {
      why = `the lab at ${lab.url} does not answer: ${(err as Error).message}`;
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
