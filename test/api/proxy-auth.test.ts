// Through the real Caddy with the forward auth (auth.ts: Caddy asks the API's /authz): a
// right login passes with its body intact, a wrong one gets the API's 401 Status and
// WWW-Authenticate, and a workspace never sees the credentials. The config is the driver's own.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { createCaddyProxy, freeLoopbackPort, type CaddyProxy } from '../../drivers/proxy/caddy/index.js';
import { AUTH, PASSWORD, USER, startTestServer, workspace, type TestServer } from './helpers.js';

const PROXY_SECRET = 'proxy-auth-test-secret-0123456789abcdef';
let t: TestServer;
let proxy: CaddyProxy;
let ide: Server;
let stateDir: string;
let app: string, wsUrl: string;
const seen: { auth?: string | undefined }[] = [];

beforeAll(async () => {
  t = await startTestServer({ throttle: { floorMs: 50 }, proxySecret: PROXY_SECRET });
  ide = createServer((req, res) => {
    seen.push({ auth: req.headers.authorization });
    res.end('ide');
  });
  // Workspaces are looked up by name and reached on their IDE port, 8080, of their own address.
  const ideIp = `127.89.${Math.floor(Math.random() * 250) + 1}.1`;
  await new Promise<void>((r) => ide.listen(8080, ideIp, r));
  stateDir = await mkdtemp(join(tmpdir(), 'tp-proxy-auth-'));
  const appPort = await freeLoopbackPort(),
    wsPort = await freeLoopbackPort();
  app = `http://127.0.0.1:${appPort}`;
  wsUrl = `http://127.0.0.1:${wsPort}`;
  proxy = createCaddyProxy({
    appListen: `127.0.0.1:${appPort}`,
    workspaceListen: `127.0.0.1:${wsPort}`,
    apiUpstream: new URL(t.url).host,
    credentials: { username: USER, password: PASSWORD },
    proxySecret: PROXY_SECRET,
    stateDir,
  });
  await proxy.start();
  const table = { workspaces: [{ name: 'w', upstream: `${ideIp}:8080` }], ports: [] };
  await proxy.apply(table);
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => ide?.close(r));
  await t?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('the proxy asks the API who may pass', () => {
  it('passes a right login with its body to the API', async () => {
    const r = await fetch(`${app}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(workspace('via-caddy')),
    });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { metadata: { name: string } }).metadata.name).toBe('via-caddy');
  });

  it("answers a wrong password and a wrong user with the API's 401 Status, on both servers", async () => {
    for (const base of [app, wsUrl]) {
      for (const auth of [basic(USER, 'wrong'), basic('nobody', PASSWORD)]) {
        const r = await fetch(`${base}${base === app ? '/api/v1/workspaces' : '/workspace/w/'}`, {
          headers: { authorization: auth },
        });
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toContain('Basic realm="tidepool"');
        expect(await r.json()).toMatchObject({ kind: 'Status', code: 401 });
      }
      const none = await fetch(`${base}${base === app ? '/api/v1/workspaces' : '/workspace/w/'}`);
      expect(none.status).toBe(401);
    }
  });

  it('lets a right login reach the workspace, without the credentials', async () => {
    const r = await fetch(`${wsUrl}/workspace/w/`, { headers: { authorization: AUTH } });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('ide');
    expect(seen.at(-1)!.auth).toBeUndefined();
  });

  // Last: it stops the API. The data plane outlives serve; a new request meanwhile is checked by
  // Caddy itself (its bcrypt basic auth, unthrottled) rather than refused.
  it("while the API is away, checks the password itself: a right login passes, a wrong one gets Caddy's 401", async () => {
    await t.server.close();
    const right = await fetch(`${wsUrl}/workspace/w/`, { headers: { authorization: AUTH } });
    expect(right.status).toBe(200);
    expect(await right.text()).toBe('ide');
    for (const auth of [basic(USER, 'wrong'), basic('nobody', PASSWORD)]) {
      const wrong = await fetch(`${wsUrl}/workspace/w/`, { headers: { authorization: auth } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toContain('realm="tidepool"');
      await wrong.text();
    }
    expect((await fetch(`${wsUrl}/workspace/w/`)).status).toBe(401);
  });
});
