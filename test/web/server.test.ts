// What the UI needs of the server, against a real API server on loopback: a workspace page's URL
// (/app/workspaces/NAME) answers with the page behind auth, so that a reload or a shared link
// works; and the port probe says whether something answers on a Port now.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/helpers.js';

let t: TestServer;
let web: string;

beforeAll(async () => {
  web = await mkdtemp(join(tmpdir(), 'tp-web-server-'));
  await mkdir(join(web, 'assets'));
  await writeFile(join(web, 'index.html'), '<!doctype html><title>Tidepool page</title>');
  await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
  t = await startTestServer({
    webRoot: web,
    uiConfig: { workspacePort: 8081, imageTemplates: ['default', 'minimal'] },
  });
});

afterAll(async () => {
  await t?.close();
  await rm(web, { recursive: true, force: true });
});

describe('deep links into the UI', () => {
  it('serves the page for /app/workspaces/NAME, behind auth, and still 404s a missing asset', async () => {
    for (const path of ['/app/workspaces/alice', '/app/workspaces/alice/', '/app/workspaces/no-such-one']) {
      const r = await t.req('GET', path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/text\/html/);
      expect(r.text).toContain('<title>Tidepool page</title>');
    }
    expect((await t.req('GET', '/app/workspaces/alice', { auth: null })).status).toBe(401);
    expect((await t.req('GET', '/app/assets/app.js')).text).toBe('console.log(1)');
    expect((await t.req('GET', '/app/assets/nope.js')).status).toBe(404);
    expect((await t.req('GET', '/app/config.json')).json).toEqual({
      workspacePort: 8081,
      imageTemplates: ['default', 'minimal'],
    });
  });
});

describe('GET /api/v1/ports/NAME/probe', () => {
  let listener: Server | undefined;
  afterAll(() => listener?.close());

  const workspace = (name: string) => ({ apiVersion: 'tidepool/v1', kind: 'Workspace', metadata: { name }, spec: {} });
  const port = (ws: string, n: number) => ({
    apiVersion: 'tidepool/v1',
    kind: 'Port',
    metadata: { name: `${ws}-${n}` },
    spec: { workspace: ws, port: n },
  });

  it('says whether something answers on the port of the workspace’s IP', async () => {
    // A listener on a loopback address stands for a server in the workspace.
    listener = createServer((s) => s.end());
    await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', () => r()));
    const open = (listener.address() as { port: number }).port;
    // A port nothing listens on: bind one and let it go.
    const closed = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    expect((await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') })).status).toBe(201);
    t.store.updateStatus('Workspace', 'alice', { phase: 'Running', ip: '127.0.0.1' });
    for (const n of [open, closed])
      expect((await t.req('POST', '/api/v1/ports', { body: port('alice', n) })).status).toBe(201);

    const yes = await t.req('GET', `/api/v1/ports/alice-${open}/probe`);
    expect(yes.status).toBe(200);
    expect(yes.json).toMatchObject({ kind: 'PortProbe', workspace: 'alice', port: open, answering: true });
    const no = await t.req('GET', `/api/v1/ports/alice-${closed}/probe`);
    expect(no.json).toMatchObject({ answering: false });
    expect(no.json.message).toContain(`Nothing answers on 127.0.0.1:${closed}`);
  });

  it('says a workspace without an IP is not running, and 404s an unknown Port', async () => {
    expect((await t.req('POST', '/api/v1/workspaces', { body: workspace('bob') })).status).toBe(201);
    expect((await t.req('POST', '/api/v1/ports', { body: port('bob', 3000) })).status).toBe(201);
    const r = await t.req('GET', '/api/v1/ports/bob-3000/probe');
    expect(r.json).toMatchObject({ answering: false });
    expect(r.json.message).toContain('not running');
    const missing = await t.req('GET', '/api/v1/ports/nope/probe');
    expect(missing.status).toBe(404);
    expect(missing.json.kind).toBe('Status');
    expect((await t.req('GET', '/api/v1/ports/bob-3000/probe', { auth: null })).status).toBe(401);
  });
});
