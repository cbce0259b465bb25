// Cross-site requests against a real API server on loopback, from a plain client that says
// where it comes from as a browser would (Origin, Sec-Fetch-Site): a page of another origin
// (evil.example, the preview or workspace port of the same host, a sandboxed frame) is refused
// with a 403 Status naming why, before authentication; the app origin and clients that send no
// Origin (the CLI) go on as before. Exec runs a fake session here (the runtime's is Incus's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ExecHolder, ExecSession } from '../../api/exec.js';
import { AUTH, startTestServer, workspace, type TestServer } from './helpers.js';

let t: TestServer;
let host: string;
/** The commands the fake runtime was asked to run. */
const ran: string[][] = [];

/** A session that prints its command line and exits 0. */
function fakeSession(command: string[]): ExecSession {
  let out: ((stream: 'stdout' | 'stderr', data: Uint8Array) => void) | undefined;
  let done!: (code: number) => void;
  const exitCode = new Promise<number>((r) => (done = r));
  return {
    write() {},
    endInput() {},
    resize() {},
    onOutput(cb) {
      out = cb;
      setImmediate(() => {
        out?.('stdout', Buffer.from(`ran ${command.join(' ')}\n`));
        done(0);
      });
    },
    exitCode,
    kill: () => done(137),
  };
}

const exec: ExecHolder = {
  exec: async (_name, req) => {
    ran.push(req.command);
    return fakeSession(req.command);
  },
};

beforeAll(async () => {
  t = await startTestServer({ exec, foreignOrigins: ['http://ide.example.test:9443'] });
  host = new URL(t.url).host;
  expect((await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') })).status).toBe(201);
  const cur = (await t.req('GET', '/api/v1/workspaces/alice')).json;
  const r = await t.req('PUT', '/api/v1/workspaces/alice/status', { body: { ...cur, status: { phase: 'Running' } } });
  expect(r.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

interface Upgrade {
  /** 101 when the WebSocket opened, else the HTTP status of the refusal. */
  status: number;
  body: string;
  /** What the socket carried before it closed (after the channel byte). */
  output: string;
}

/** A WebSocket handshake to `path` with these headers (origin: the Origin header, as a browser sends it). */
function upgrade(path: string, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const { origin, ...rest } = headers;
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${path}`, {
      headers: rest,
      ...(origin !== undefined ? { origin } : {}),
      perMessageDeflate: false,
    });
    const timer = setTimeout(() => reject(new Error(`no answer to the upgrade of ${path}`)), 10_000);
    let output = '';
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body, output });
      });
    });
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) output += data.subarray(1).toString('utf8');
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve({ status: 101, body: '', output });
    });
    ws.on('error', () => undefined); // 'unexpected-response' or 'close' answers
  });
}

const EXEC = '/api/v1/workspaces/alice/exec?command=id&user=root';
const status = (body: string) => JSON.parse(body) as { kind: string; code: number; reason: string; message: string };

describe('WebSocket upgrades', () => {
  it('refuses exec from another origin with 403 and a Status naming that origin, before any credentials count', async () => {
    for (const origin of [
      'http://evil.example',
      `http://${new URL(t.url).hostname}:1`, // the same host on another port: the preview or workspace origin
      'null', // a sandboxed frame or a file: page
      'http://ide.example.test:9443', // --workspace-url: the IDEs' origin
    ]) {
      for (const auth of [AUTH, undefined]) {
        const r = await upgrade(EXEC, { origin, ...(auth ? { authorization: auth } : {}) });
        expect(r.status, origin).toBe(403);
        const s = status(r.body);
        expect(s).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
        expect(s.message).toContain(`origin ${JSON.stringify(origin)} is refused`);
      }
    }
    expect(ran).toEqual([]);
  });

  it('refuses an upgrade to any other path too, after the origin check', async () => {
    const evil = await upgrade('/api/v1/workspaces?watch=true', { origin: 'http://evil.example', authorization: AUTH });
    expect(evil.status).toBe(403);
    const own = await upgrade('/api/v1/workspaces?watch=true', { authorization: AUTH });
    expect(own.status).toBe(404);
    expect(status(own.body).message).toContain("no WebSocket is served at /api/v1/workspaces: the API's only one is");
  });

  it('runs exec for the app origin (the Host the browser addressed) and for a client without Origin (the CLI)', async () => {
    const fromApp = await upgrade(EXEC, { origin: `http://${host}`, authorization: AUTH });
    expect(fromApp).toMatchObject({ status: 101, output: 'ran id\n' });
    const fromCli = await upgrade(EXEC, { authorization: AUTH });
    expect(fromCli).toMatchObject({ status: 101, output: 'ran id\n' });
    expect(ran).toEqual([['id'], ['id']]);
  });

  it('answers bad percent-encoding in the exec query or path with a 400 Status naming the parameter', async () => {
    const q = await upgrade('/api/v1/workspaces/alice/exec?command=%E0%A4%A', { authorization: AUTH });
    expect(q.status).toBe(400);
    const s = status(q.body) as ReturnType<typeof status> & { details?: { causes?: { field: string }[] } };
    expect(s).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(s.message).toBe(
      'query parameter "command" is not valid percent-encoding: "%E0%A4%A" (encode each byte as %XX, UTF-8)',
    );
    expect(s.details?.causes?.[0]?.field).toBe('query.command');
    const p = await upgrade('/api/v1/workspaces/%E0%A4%A/exec?command=id', { authorization: AUTH });
    expect(p.status).toBe(400);
    expect(status(p.body).message).toContain(
      'the workspace name in the path is not valid percent-encoding: "%E0%A4%A"',
    );
  });
});

describe('state-changing requests', () => {
  const create = (name: string, headers: Record<string, string>) =>
    t.req('POST', '/api/v1/workspaces', { body: workspace(name), headers });

  it('refuses POST, PUT, PATCH and DELETE from another origin with 403, and changes nothing', async () => {
    const evil = { origin: 'http://evil.example' };
    const r = await create('mallory', evil);
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(r.json.message).toContain('a POST request from origin "http://evil.example" is refused');
    const cur = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    const patch = await t.req('PATCH', '/api/v1/workspaces/alice', {
      body: { spec: { running: false } },
      type: 'application/merge-patch+json',
      headers: evil,
    });
    expect(patch.status).toBe(403);
    expect((await t.req('PUT', '/api/v1/workspaces/alice', { body: cur, headers: evil })).status).toBe(403);
    expect((await t.req('DELETE', '/api/v1/workspaces/alice', { headers: evil })).status).toBe(403);
    const apply = await t.req('POST', '/api/v1/apply', {
      body: JSON.stringify(workspace('mallory')),
      headers: { origin: `http://${new URL(t.url).hostname}:1` },
    });
    expect(apply.status).toBe(403);
    expect((await t.req('GET', '/api/v1/workspaces/mallory')).status).toBe(404);
    expect((await t.req('GET', '/api/v1/workspaces/alice')).json.metadata.resourceVersion).toBe(
      cur.metadata.resourceVersion,
    );
  });

  it('refuses one a browser marks cross-site or same-site (another port) when it sends no Origin', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const r = await create('mallory', { 'sec-fetch-site': site });
      expect(r.status, site).toBe(403);
      expect(r.json.message).toContain(`(Sec-Fetch-Site: ${site}) is refused`);
    }
  });

  it('refuses before authentication: no credentials from another origin still get 403, not 401', async () => {
    const r = await t.req('POST', '/api/v1/workspaces', {
      body: workspace('mallory'),
      headers: { origin: 'http://evil.example' },
      auth: null,
    });
    expect(r.status).toBe(403);
  });

  it('accepts the app origin, Sec-Fetch-Site same-origin or none, and clients without either (the CLI)', async () => {
    expect((await create('own-origin', { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status).toBe(
      201,
    );
    expect((await create('typed', { 'sec-fetch-site': 'none' })).status).toBe(201);
    expect((await create('cli', {})).status).toBe(201);
    expect((await t.req('DELETE', '/api/v1/workspaces/cli', { headers: { origin: `http://${host}` } })).status).toBe(
      200,
    );
  });

  it('leaves reads alone: a GET from another origin is answered (the browser keeps its body from the page)', async () => {
    const r = await t.req('GET', '/api/v1/workspaces/alice', { headers: { origin: 'http://evil.example' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});
