// Caddy's access log reaches Tidepool as a stream (UDP datagrams to a listener of the driver):
// each request through the workspace or preview port names its workspace; nothing else does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusOfEntry, workspaceOfEntry, workspaceUsedBy } from '../../drivers/proxy/caddy/access.js';
import { fakeServer, get, startHarness, waitFor, type FakeServer, type Harness } from './helpers.js';

describe('caddy driver: the access log as a stream', () => {
  let h: Harness;
  let ide: FakeServer, dev: FakeServer, api: FakeServer;
  const seen: string[] = [];

  beforeAll(async () => {
    ide = await fakeServer('alice-ide', '127.78.7.10', 8080);
    dev = await fakeServer('alice-3000', '127.78.7.10', 3000);
    api = await fakeServer('api', '127.0.0.1');
    h = await startHarness({ apiUpstream: api.upstream });
    h.proxy.subscribeAccess((ws) => seen.push(ws));
    await h.proxy.apply({
      workspaces: [{ name: 'alice', upstream: '127.78.7.10:8080' }],
      ports: [{ workspace: 'alice', port: 3000, upstream: '127.78.7.10:3000' }],
      idle: { workspaces: ['bob'], ports: [] },
    });
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([ide, dev, api].map((s) => s?.close()));
  });

  it('names the workspace of each request on the workspace and preview ports, whatever the answer', async () => {
    expect((await get(`${h.workspaceUrl}/workspace/alice/x`)).status).toBe(200);
    await waitFor('alice seen', async () => seen.includes('alice'));
    seen.length = 0;
    expect((await get(`${h.previewUrl}/workspace/alice/port/3000/`)).status).toBe(200);
    expect((await get(`${h.workspaceUrl}/workspace/bob/`)).status).toBe(503);
    await waitFor('both seen', async () => seen.filter((w) => w === 'alice').length >= 1 && seen.includes('bob'));
  });

  it('a request refused at the door (no credentials) does not count as use', async () => {
    seen.length = 0;
    expect((await get(`${h.workspaceUrl}/workspace/alice/x`, false)).status).toBe(401);
    expect((await get(`${h.previewUrl}/workspace/alice/port/3000/`, false)).status).toBe(401);
    await get(`${h.workspaceUrl}/workspace/alice/marker`);
    await waitFor('the marker request', async () => seen.length > 0);
    expect(seen).toEqual(['alice']);
  });

  it('reads the status out of an entry, and counts a workspace used only when the request got in', () => {
    const entry = (uri: string, status: number) =>
      JSON.stringify({ request: { uri, host: '"status":200' }, duration: 0.01, status, resp_headers: {} });
    expect(statusOfEntry(entry('/workspace/a/', 401))).toBe(401);
    expect(statusOfEntry('{"request":{"uri":"/workspace/a/"}}')).toBeUndefined();
    for (const refused of [401, 403, 429]) expect(workspaceUsedBy(entry('/workspace/a/', refused))).toBeUndefined();
    for (const used of [200, 302, 404, 502, 503]) expect(workspaceUsedBy(entry('/workspace/a/', used))).toBe('a');
  });

  it('app-port requests and non-workspace paths name no workspace', async () => {
    seen.length = 0;
    await get(`${h.appUrl}/api/v1/workspaces`);
    await get(`${h.workspaceUrl}/nope`);
    await get(`${h.workspaceUrl}/workspace/alice/marker`);
    await waitFor('the marker request', async () => seen.length > 0);
    expect(seen).toEqual(['alice']);
  });

  it('parses the workspace out of an entry, and nothing out of anything else', () => {
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: '/workspace/a-1/port/3000/x?y' } }))).toBe('a-1');
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: '/workspace/alice' } }))).toBe('alice');
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: '/workspace/Bad/' } }))).toBeUndefined();
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: '/api/v1/workspaces' } }))).toBeUndefined();
    expect(workspaceOfEntry('not json')).toBeUndefined();
    // Another field that holds the key's text (escaped in JSON) does not count; the real key does.
    expect(
      workspaceOfEntry(JSON.stringify({ request: { host: '"uri":"/workspace/evil/', uri: '/api/' } })),
    ).toBeUndefined();
    expect(
      workspaceOfEntry(JSON.stringify({ request: { host: '"uri":"/workspace/evil/', uri: '/workspace/bob/x' } })),
    ).toBe('bob');
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: `/workspace/${'a'.repeat(64)}/` } }))).toBeUndefined();
    expect(workspaceOfEntry(JSON.stringify({ request: { uri: `/workspace/${'a'.repeat(63)}/` } }))).toBe(
      'a'.repeat(63),
    );
  });
});
