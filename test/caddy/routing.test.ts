// What a browser sees through the real Caddy once the driver has applied a table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteTable } from '../../controller/drivers/proxy/types.js';
import { AUTH, echo, fakeServer, freePortOn, get, openSocket, startHarness, type FakeServer, type Harness } from './helpers.js';

describe('caddy driver: routing through a real Caddy', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, bobIde: FakeServer, api: FakeServer;
  let late: FakeServer | undefined;
  let latePort: number;
  let table: RouteTable;

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.77.1.10');
    dev = await fakeServer('alice-3000', '127.77.1.10');
    bobIde = await fakeServer('bob-ide', '127.77.1.11');
    // The API sends a permissive CORS header; Caddy must not pass it on.
    api = await fakeServer('api', '127.0.0.1', 0, { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' });
    latePort = await freePortOn('127.77.1.10');
    h = await startHarness({ apiUpstream: api.upstream });
    table = {
      workspaces: [{ name: 'alice', upstream: ide.upstream }, { name: 'bob', upstream: bobIde.upstream }],
      ports: [
        { workspace: 'alice', port: 3000, upstream: dev.upstream },
        { workspace: 'alice', port: 5173, upstream: `127.77.1.10:${latePort}` },
      ],
    };
    await h.proxy.apply(table);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, bobIde, api, late].map((s) => s?.close()));
  });

  it('serves the IDE with the prefix stripped and X-Forwarded-Prefix set', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/alice/static/app.js?v=1`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ server: 'alice-ide', url: '/static/app.js?v=1', prefix: '/workspace/alice' });
    const root = await get(`${h.workspaceUrl}/workspace/bob/`);
    expect(JSON.parse(root.body)).toEqual({ server: 'bob-ide', url: '/', prefix: '/workspace/bob' });
  });

  it('never passes the Tidepool credentials to a workspace', async () => {
    await get(`${h.workspaceUrl}/workspace/alice/whoami`);
    const seen = ide.seen.find((s) => s.url === '/whoami');
    expect(seen).toBeDefined();
    expect(seen!.headers.authorization).toBeUndefined();
  });

  it('redirects /workspace/{ws} and /workspace/{ws}/port/{n} to the trailing slash, keeping the query', async () => {
    const r = await get(`${h.workspaceUrl}/workspace/alice?folder=/src`);
    expect([301, 302, 307, 308]).toContain(r.status);
    expect(r.headers.location).toBe('/workspace/alice/?folder=/src');
    const p = await get(`${h.workspaceUrl}/workspace/alice/port/3000`);
    expect([301, 302, 307, 308]).toContain(p.status);
    expect(p.headers.location).toBe('/workspace/alice/port/3000/');
  });

  it('sends a Port route to its port, ahead of the IDE route', async () => {
    const before = ide.seen.length;
    const r = await get(`${h.workspaceUrl}/workspace/alice/port/3000/api/items?page=2`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ server: 'alice-3000', url: '/api/items?page=2', prefix: '/workspace/alice/port/3000' });
    expect(ide.seen.length).toBe(before);
  });

  it('passes WebSockets through on the IDE and the Port routes', async () => {
    const a = await openSocket(`${h.workspaceUrl}/workspace/alice/socket`);
    const b = await openSocket(`${h.workspaceUrl}/workspace/alice/port/3000/hmr`);
    try {
      expect(await echo(a, 'hello')).toBe('alice-ide:hello');
      expect(await echo(b, 'ping')).toBe('alice-3000:ping');
      expect(ide.seen.some((s) => s.url === '/socket')).toBe(true);
      expect(dev.seen.some((s) => s.url === '/hmr')).toBe(true);
    } finally {
      a.terminate();
      b.terminate();
    }
  });

  it('answers 502 for a Port nothing listens on, then 200 once it listens, with no change to Tidepool', async () => {
    const url = `${h.workspaceUrl}/workspace/alice/port/5173/`;
    expect((await get(url)).status).toBe(502);
    late = await fakeServer('alice-5173', '127.77.1.10', latePort);
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).server).toBe('alice-5173');
  });

  it('answers 401 with WWW-Authenticate without credentials or with wrong ones, on both servers', async () => {
    const wrong = `Basic ${Buffer.from('tidepool:nope').toString('base64')}`;
    for (const url of [`${h.workspaceUrl}/workspace/alice/`, `${h.appUrl}/api/v1/workspaces`, `${h.appUrl}/app/`]) {
      for (const auth of [false, wrong] as const) {
        const r = await get(url, auth);
        expect(r.status, `${url} auth=${String(auth)}`).toBe(401);
        expect(r.headers['www-authenticate']).toMatch(/^Basic /);
      }
    }
    expect((await get(`${h.workspaceUrl}/workspace/alice/`, AUTH)).status).toBe(200);
  });

  it('answers a real 404 for unknown paths, workspaces and ports', async () => {
    for (const path of ['/', '/nope', '/workspace/', '/workspace/carol/', '/workspace/carol', '/workspace/carol/port/3000/', '/workspace/alice/port/4000/', '/workspace/bob/port/3000/']) {
      const r = await get(`${h.workspaceUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.body.length, path).toBeGreaterThan(0);
    }
    const app = await get(`${h.appUrl}/nope`);
    expect(app.status).toBe(404);
    expect(app.body.length).toBeGreaterThan(0);
  });

  it('keeps the API off the workspace port and serves it on the app port without permissive CORS headers', async () => {
    for (const path of ['/api/', '/api/v1/workspaces', '/app/', '/openapi.json', '/healthz']) {
      expect((await get(`${h.workspaceUrl}${path}`)).status, path).toBe(404);
    }
    expect(api.seen.length).toBe(0);
    const r = await get(`${h.appUrl}/api/v1/workspaces`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ server: 'api', url: '/api/v1/workspaces' });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    // The API checks the credentials itself too, so they reach it.
    expect(api.seen.at(-1)!.headers.authorization).toBe(AUTH);
    expect(JSON.parse((await get(`${h.appUrl}/app/index.html`)).body).url).toBe('/app/index.html');
    const root = await get(`${h.appUrl}/`);
    expect([301, 302, 307, 308]).toContain(root.status);
    expect(root.headers.location).toBe('/app/');
    expect((await get(`${h.appUrl}/healthz`, false)).status).toBe(200);
  });

  it('reads back exactly the table it applied', async () => {
    expect(await h.proxy.read()).toEqual({
      workspaces: [...table.workspaces],
      ports: [...table.ports],
    });
  });
});
