// Guessing through the proxy, side by side in one run on a real Caddy: a legitimate
// request's latency (a right login to /workspace/w/, sequential) idle and under a flood of
// wrong passwords (30 connections from another loopback address, closed loop, bounded in
// time and count), with
//   (a) Tidepool's forward auth, the config the driver builds (config.ts, auth.ts): Caddy asks
//       the API's /authz, which holds a wrong guess on a timer and locks a client that keeps
//       guessing out with 429 (api/throttle.ts);
//   (b) the baseline: Caddy's own basic auth with a bcrypt hash (cost 10), what the driver
//       built before: (a) with its auth position replaced by the bcrypt fallback it carries.
// Target: (a) flood p50 within 2x of idle p50. Prints p50/p99 and the ratios.
// Then, with sign-in (a real OpenID Connect provider, test/fixtures/oidc-provider.ts):
//   (c) throughput of the same request with a session cookie against basic auth, same run,
//       alternating rounds (target: session >= 0.8x of basic's requests per second);
//   (d) a signed-in user's latency idle and under a flood of sign-ins (/auth/login on the app
//       origin, each a PKCE verifier, state and nonce kept by the API, until the client's budget
//       is spent and each further one is held and answered 429; target p50 within 2x).
// Run: npx tsx bench/proxy-auth.ts [--seconds 8] [--samples 30]
// Traffic goes to loopback only (127.0.0.1 legitimate, 127.0.0.2 the flood).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Agent, request } from 'undici';
import { agentFrom } from '../test/loopback-agent.js';
import { Store } from '../store/index.js';
import { startServer } from '../api/server.js';
import { createCaddyProxy, freeLoopbackPort } from '../drivers/proxy/caddy/index.js';
import { OidcProvider } from '../api/signin/oidc.js';
import { SessionStore } from '../api/signin/sessions.js';
import { startOidcProvider, webClient } from '../test/fixtures/oidc-provider.js';
import type { Json } from '../drivers/proxy/caddy/config.js';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, samples: { type: 'string', default: '30' } },
});
const FLOOD_MS = Number(args.seconds) * 1000;
const SAMPLES = Number(args.samples);
const FLOOD_CONNECTIONS = 30;
const FLOOD_MAX_REQUESTS = 20_000;
const USER = 'bench',
  PASSWORD = 'bench-password-not-secret';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const dir = await mkdtemp(join(tmpdir(), 'tp-bench-auth-'));
// What serve shares between its API and its Caddy: the API then tells the flood from the legitimate client.
const proxySecret = randomBytes(32).toString('base64url');
const store = await Store.open(join(dir, 'store.json'));
const appPort = await freeLoopbackPort();
const op = await startOidcProvider({
  clients: [webClient('bench', 'bench-secret', [`http://127.0.0.1:${appPort}/auth/callback`])],
});
const sessions = await SessionStore.open(join(dir, 'sessions.json'));
const api = await startServer({
  store,
  listen: '127.0.0.1:0',
  logger: false,
  credentials: { username: USER, password: PASSWORD },
  proxySecret,
  signIn: {
    mode: 'oidc',
    provider: new OidcProvider({ issuer: op.issuer, clientId: 'bench', clientSecret: 'bench-secret' }),
    sessions,
    own: { appPort, ports: [appPort], extra: [] },
  },
});
// A signed-in person's cookie (the sign-in itself is the flood's part).
const session = await sessions.create({
  name: 'bench@example.test',
  namespace: 'bench',
  admin: false,
  groups: [],
  via: 'session',
});
const SESSION_COOKIE = `tp_session=${session.id}`;
const ide = createServer((_req, res) => res.end('ide'));
// Workspaces are looked up by name and reached on their IDE port, 8080, of their own address.
const ideIp = `127.89.${Math.floor(Math.random() * 250) + 1}.2`;
await new Promise<void>((r) => ide.listen(8080, ideIp, r));
const wsPort = await freeLoopbackPort();
const proxy = createCaddyProxy({
  appListen: `127.0.0.1:${appPort}`,
  workspaceListen: `127.0.0.1:${wsPort}`,
  apiUpstream: new URL(api.address).host,
  credentials: { username: USER, password: PASSWORD },
  proxySecret,
  stateDir: join(dir, 'caddy'),
});
const target = `http://127.0.0.1:${wsPort}/workspace/w/`;
// Two clients, by loopback address (undici ignores connect.localAddress: agentFrom binds the socket).
const legit = agentFrom('127.0.0.1', { connections: 1 });

async function once(agent: Agent, auth: string): Promise<number> {
  const r = await request(target, { dispatcher: agent, headers: { authorization: auth } });
  await r.body.text();
  return r.statusCode;
}

async function withSession(agent: Agent, url = target): Promise<number> {
  const r = await request(url, { dispatcher: agent, headers: { cookie: SESSION_COOKIE } });
  await r.body.text();
  return r.statusCode;
}

/** Requests per second of `send` from `connections` workers for `ms`. */
async function throughput(send: (agent: Agent) => Promise<number>, connections: number, ms: number): Promise<number> {
  const agent = agentFrom('127.0.0.1', { connections });
  let ok = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        // A connection Caddy closed under load is a lost request, not the end of the run.
        const code = await send(agent).catch(() => 0);
        if (code !== 200 && code !== 0) throw new Error(`a throughput request answered ${code}`);
        if (code === 200) ok++;
      }
    }),
  );
  await agent.close();
  return ok / (ms / 1000);
}

/** (c): basic and session rounds, alternating, the same request through the workspace port. */
async function sessionThroughput(): Promise<{ basic: number[]; session: number[] }> {
  const basicRps: number[] = [];
  const sessionRps: number[] = [];
  // Many short rounds, each pair back to back: the machine's load drifts by the second.
  for (let round = 0; round < 6; round++) {
    basicRps.push(await throughput((a) => once(a, basic(USER, PASSWORD)), 8, 2000));
    sessionRps.push(await throughput((a) => withSession(a), 8, 2000));
  }
  return { basic: basicRps, session: sessionRps };
}

/** (d): a signed-in person's latency, idle and under a flood of sign-ins from another address. */
async function signInFlood(): Promise<{ idle: number[]; flood: number[]; floodRequests: number }> {
  const sampleSession = async () => {
    const lat: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      const code = await withSession(legit);
      if (code !== 200) throw new Error(`signed-in request answered ${code}`);
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    return lat;
  };
  for (let i = 0; i < 5; i++) await withSession(legit);
  const idle = await sampleSession();
  const floodAgent = agentFrom('127.0.0.2', { connections: FLOOD_CONNECTIONS });
  const login = `http://127.0.0.1:${appPort}/auth/login?return=%2Fapp%2F`;
  const until = Date.now() + FLOOD_MS;
  let sent = 0;
  const worker = async () => {
    while (Date.now() < until && sent < FLOOD_MAX_REQUESTS) {
      sent++;
      const r = await request(login, { dispatcher: floodAgent }).catch(() => undefined);
      if (r) {
        await r.body.dump();
        // 302 to the provider, or 429 once the client has started more than its budget.
        if (r.statusCode !== 302 && r.statusCode !== 429) throw new Error(`a sign-in answered ${r.statusCode}`);
      }
    }
  };
  const flooding = Promise.all(Array.from({ length: FLOOD_CONNECTIONS }, () => worker()));
  await new Promise((r) => setTimeout(r, 1000));
  const flood = await sampleSession();
  await flooding;
  await floodAgent.close();
  return { idle, flood, floodRequests: sent };
}

async function sample(): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    const code = await once(legit, basic(USER, PASSWORD));
    if (code !== 200) throw new Error(`legitimate request answered ${code}`);
    lat.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  return lat;
}

async function measure(): Promise<{ idle: number[]; flood: number[]; floodRequests: number }> {
  for (let i = 0; i < 5; i++) await once(legit, basic(USER, PASSWORD)); // warm-up
  const idle = await sample();
  const floodAgent = agentFrom('127.0.0.2', { connections: FLOOD_CONNECTIONS });
  const until = Date.now() + FLOOD_MS;
  let sent = 0;
  const worker = async (w: number) => {
    while (Date.now() < until && sent < FLOOD_MAX_REQUESTS) {
      sent++;
      await once(floodAgent, basic(USER, `guess-${w}-${sent}`)).catch(() => 0);
    }
  };
  const flooding = Promise.all(Array.from({ length: FLOOD_CONNECTIONS }, (_, w) => worker(w)));
  await new Promise((r) => setTimeout(r, 1000)); // let the flood ramp up
  const flood = await sample();
  await flooding;
  await floodAgent.close();
  return { idle, flood, floodRequests: sent };
}

/** `config` with each login subroute replaced by the Caddy basic auth it falls back to (the old config). */
function withCaddyBasicAuth(config: Json): Json {
  if (Array.isArray(config)) return config.map(withCaddyBasicAuth);
  if (config && typeof config === 'object') {
    const o = config as { [k: string]: Json };
    const handlers = ((o.errors as { routes?: { handle?: Json[] }[] } | undefined)?.routes ?? []).flatMap(
      (r) => r.handle ?? [],
    );
    const fallback = handlers.find((h) => (h as { handler?: string }).handler === 'authentication');
    if (o.handler === 'subroute' && fallback) return fallback;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, withCaddyBasicAuth(v)]));
  }
  return config;
}

try {
  await proxy.start();
  const table = { workspaces: [{ name: 'w', upstream: `${ideIp}:8080` }], ports: [] };
  // Baseline first: Caddy's bcrypt basic auth (the config of before), then the driver's own.
  await proxy.apply(table);
  await proxy.admin().load(withCaddyBasicAuth(await proxy.buildConfig()));
  const bcryptRun = await measure();
  await proxy.admin().load(await proxy.buildConfig());
  const forward = await measure();
  const f = (n: number) => n.toFixed(1).padStart(9);
  console.log(
    `legitimate GET ${target} (${SAMPLES} sequential), flood: ${FLOOD_CONNECTIONS} connections of wrong passwords for ${FLOOD_MS / 1000} s (at most ${FLOOD_MAX_REQUESTS})`,
  );
  console.log(`                          idle p50  idle p99  flood p50  flood p99  flood/idle p50  flood requests`);
  for (const [label, r] of [
    ['forward auth (API)', forward],
    ['Caddy bcrypt (before)', bcryptRun],
  ] as const) {
    console.log(
      `${label.padEnd(24)} ${f(pct(r.idle, 0.5))} ${f(pct(r.idle, 0.99))}  ${f(pct(r.flood, 0.5))}  ${f(pct(r.flood, 0.99))}  ${f(pct(r.flood, 0.5) / pct(r.idle, 0.5))}       ${String(r.floodRequests).padStart(8)}`,
    );
  }
  const ratio = pct(forward.flood, 0.5) / pct(forward.idle, 0.5);
  console.log(
    `target: forward-auth flood p50 within 2x of idle: ${ratio <= 2 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x); bcrypt baseline ${(pct(bcryptRun.flood, 0.5) / pct(bcryptRun.idle, 0.5)).toFixed(1)}x`,
  );

  const tp = await sessionThroughput();
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const tpRatio = sum(tp.session) / sum(tp.basic);
  const pairRatio = pct(
    tp.session.map((x, i) => x / tp.basic[i]!),
    0.5,
  );
  console.log(
    `\nthroughput through the workspace port, 8 connections, 6 alternating rounds of 2 s: basic ${tp.basic.map((x) => x.toFixed(0)).join('/')} req/s, session ${tp.session.map((x) => x.toFixed(0)).join('/')} req/s`,
  );
  console.log(
    `target: session >= 0.8x of basic auth: ${tpRatio >= 0.8 ? 'met' : 'NOT met'} (${tpRatio.toFixed(2)}x of the sums; median of the pairs ${pairRatio.toFixed(2)}x)`,
  );

  const sf = await signInFlood();
  const sfRatio = pct(sf.flood, 0.5) / pct(sf.idle, 0.5);
  console.log(
    `\nsigned-in GET ${target} (${SAMPLES} sequential), flood: ${FLOOD_CONNECTIONS} connections of /auth/login for ${FLOOD_MS / 1000} s`,
  );
  console.log(
    `session: idle p50 ${f(pct(sf.idle, 0.5))} p99 ${f(pct(sf.idle, 0.99))}  flood p50 ${f(pct(sf.flood, 0.5))} p99 ${f(pct(sf.flood, 0.99))}  sign-ins ${sf.floodRequests}`,
  );
  console.log(
    `target: signed-in p50 within 2x of idle under a sign-in flood: ${sfRatio <= 2 ? 'met' : 'NOT met'} (${sfRatio.toFixed(2)}x)`,
  );
} finally {
  await legit.close();
  await proxy.close();
  await api.close();
  await op.close();
  await store.close();
  await new Promise((r) => ide.close(r));
  await rm(dir, { recursive: true, force: true });
}
