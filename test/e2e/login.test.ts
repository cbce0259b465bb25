// The login through the real Caddy that the real `tidepool serve` runs (stub runtime): Caddy
// asks the API for every request (forward auth), so the data plane's login is the API's
// throttled, constant-time check. Clients are told apart by the loopback address they come
// from (Caddy sees 127.0.0.2, 127.0.0.3, ... and tells the API with the proxy secret).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { cleanEnv, type Proc } from '../cli/helpers.js';
import { ensureCaddy } from '../caddy/helpers.js';
import { agentFrom } from '../loopback-agent.js';
import {
  AUTH,
  PASSWORD,
  USER,
  applyManifest,
  caddyLine,
  isCaddy,
  isDnsmasq,
  startCaddyServe,
  waitReady,
  workspaceYaml,
  type CaddyServe,
} from './caddy-helpers.js';

/** serve's defaults (api/throttle.ts): 5 wrong guesses in a row, then 429. */
const FREE = 5;
const started: Proc[] = [];
let scratch: string;
let s: CaddyServe;
let ide: string;

beforeAll(async () => {
  ensureCaddy();
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-login-'));
  s = await startCaddyServe(join(scratch, 'data'), cleanEnv(), started);
  await applyManifest(s, scratch, 'alice.yaml', workspaceYaml('alice'));
  await waitReady(s, 'workspace/alice');
  ide = `${s.workspaceUrl}/workspace/alice/`;
}, 120_000);

afterAll(async () => {
  const line = s ? caddyLine(s.proc) : undefined;
  for (const p of started) await p.stop('SIGTERM').catch(() => undefined);
  if (line?.pid && isCaddy(line.pid)) process.kill(line.pid, 'SIGKILL');
  if (line?.dnsmasqPid && isDnsmasq(line.dnsmasqPid)) process.kill(line.dnsmasqPid, 'SIGKILL');
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function from(addr: string, url: string, auth: string, headers: Record<string, string> = {}) {
  const agent = agentFrom(addr);
  try {
    const r = await request(url, { dispatcher: agent, headers: { ...headers, authorization: auth } });
    const body = await r.body.text();
    return { status: r.statusCode, headers: r.headers, body };
  } finally {
    await agent.close();
  }
}

function execUpgrade(addr: string, auth: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const url = `${s.address.replace('http', 'ws')}/api/v1/workspaces/alice/exec?command=true`;
    const ws = new WebSocket(url, { headers: { authorization: auth }, localAddress: addr });
    ws.once('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, ...(retryAfter ? { retryAfter: String(retryAfter) } : {}) });
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
  });
}

describe("the data plane's login, through the Caddy that serve runs", () => {
  it('answers a wrong user name and a wrong password alike, both counted by the API (one counter), then 429 with Retry-After', async () => {
    const guesser = '127.0.0.2';
    const wrongUser = await from(guesser, ide, basic('nobody', PASSWORD));
    const wrongPassword = await from(guesser, ide, basic(USER, 'wrong'));
    for (const r of [wrongUser, wrongPassword]) {
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="tidepool", charset="UTF-8"');
      // The API's Status: the API checked both (Caddy's own check answers an empty body).
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 401 });
    }
    expect(wrongUser.body).toBe(wrongPassword.body);
    // Both went on one counter: FREE - 2 more, each with a forged X-Forwarded-For, and the next is refused.
    for (let i = 2; i < FREE; i++) {
      const r = await from(guesser, ide, basic(USER, `guess-${i}`), { 'x-forwarded-for': `203.0.113.${i}` });
      expect(r.status).toBe(401);
    }
    const locked = await from(guesser, ide, basic(USER, 'one more'), { 'x-forwarded-for': '203.0.113.200' });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(locked.body)).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests' });
    // On the preview and app ports too (one throttle behind every port).
    expect((await from(guesser, `${s.appUrl}/api/v1/workspaces`, basic(USER, 'x'))).status).toBe(429);
  });

  it('lets a right login from another client through during the attack, without resetting the attacker', async () => {
    const guesser = '127.0.0.3';
    for (let i = 0; i < FREE; i++) expect((await from(guesser, ide, basic(USER, `g${i}`))).status).toBe(401);
    expect((await from(guesser, ide, basic(USER, 'g'))).status).toBe(429);
    const user = await from('127.0.0.4', ide, AUTH);
    expect(user.status).toBe(200);
    expect(user.body).toContain('alice');
    expect((await from('127.0.0.4', `${s.appUrl}/api/v1/workspaces`, AUTH)).status).toBe(200);
    // The attacker is still locked out, right credentials or not.
    expect((await from(guesser, ide, basic(USER, 'g+'))).status).toBe(429);
    expect((await from(guesser, ide, AUTH)).status).toBe(429);
  });

  it('throttles the exec WebSocket upgrade on the API itself', async () => {
    const guesser = '127.0.0.5';
    for (let i = 0; i < FREE; i++) expect((await execUpgrade(guesser, basic(USER, `e${i}`))).status).toBe(401);
    const locked = await execUpgrade(guesser, basic(USER, 'e'));
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    // The API's own address is a client apart: the CLI on this host still gets in.
    const r = await request(`${s.address}/api/v1/workspaces`, { headers: { authorization: AUTH } });
    await r.body.text();
    expect(r.statusCode).toBe(200);
  });
});
