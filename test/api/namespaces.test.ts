// Namespaces over HTTP with two people and an admin: each person sees and changes only their own
// namespace (403 naming who asked and what), two `dev` workspaces coexist, an admin sees all,
// writes are recorded as the person, and quotas refuse what would go over. Sign-in is not this
// test's business: the test app sets the identity (what the login gate does) from a header that
// only this app reads.
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.js';
import type { Identity } from '../../api/identity.js';
import { namespaceReach } from '../../api/ide-authz.js';
import { portTargetOf } from '../../api/port-access.js';
import { Store } from '../../store/index.js';
import { AUTH, PASSWORD, USER, port, workspace } from './helpers.js';

const PEOPLE: Record<string, Identity> = {
  alice: { name: 'alice', namespace: 'alice', admin: false, groups: [], via: 'session' },
  bob: { name: 'bob', namespace: 'bob', admin: false, groups: [], via: 'session' },
  root: { name: 'root', namespace: 'default', admin: true, groups: ['admins'], via: 'session' },
};

let dir: string;
let store: Store;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-ns-'));
  store = await Store.open(join(dir, 'store.json'));
  app = await buildServer({
    store,
    logger: false,
    credentials: { username: USER, password: PASSWORD },
    logsDir: join(dir, '.logs'),
  });
  app.addHook('onRequest', async (req) => {
    const who = req.headers['x-test-identity'];
    if (typeof who === 'string') req.identity = PEOPLE[who];
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function as(who: string, method: string, path: string, body?: unknown, type = 'application/json') {
  const headers: Record<string, string> = { authorization: AUTH, 'x-test-identity': who };
  if (body !== undefined) headers['content-type'] = type;
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

const names = (list: any) => list.items.map((o: any) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);

describe('namespaces', () => {
  it('lets two people each have a workspace named dev, on either path', async () => {
    const a = await as('alice', 'POST', '/api/v1/workspaces', workspace('dev'));
    expect(a.status, a.text).toBe(201);
    expect(a.json.metadata.namespace).toBe('alice');
    const b = await as('bob', 'POST', '/api/v1/namespaces/bob/workspaces', workspace('dev'));
    expect(b.status).toBe(201);
    expect(b.json.metadata.namespace).toBe('bob');
    const d = await as('root', 'POST', '/api/v1/workspaces', workspace('dev'));
    expect(d.status).toBe(201);
    // The default namespace's objects look exactly as they did before namespaces.
    expect(d.json.metadata.namespace).toBeUndefined();
    expect(new Set([a.json.metadata.uid, b.json.metadata.uid, d.json.metadata.uid]).size).toBe(3);
    expect((await as('alice', 'GET', '/api/v1/workspaces/dev')).json.metadata.uid).toBe(a.json.metadata.uid);
    expect((await as('bob', 'GET', '/api/v1/workspaces/dev')).json.metadata.uid).toBe(b.json.metadata.uid);
    expect((await as('root', 'GET', '/api/v1/workspaces/dev')).json.metadata.uid).toBe(d.json.metadata.uid);
  });

  it("answers 403 naming who is signed in and which namespace was asked for, on someone else's objects", async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/namespaces/bob/workspaces/dev', undefined],
      ['GET', '/api/v1/namespaces/bob/workspaces', undefined],
      ['DELETE', '/api/v1/namespaces/bob/workspaces/dev', undefined],
      ['PUT', '/api/v1/namespaces/bob/workspaces/dev', workspace('dev', { running: false })],
      ['POST', '/api/v1/namespaces/bob/workspaces', workspace('other')],
      ['GET', '/api/v1/namespaces/bob/workspaces/dev/log', undefined],
      ['GET', '/api/v1/namespaces/bob/quotausage', undefined],
    ] as const) {
      const r = await as('alice', method, path, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
      expect(r.json.message).toContain('"alice"');
      expect(r.json.message).toContain('namespace "bob"');
    }
    // Orphans are no namespace's: an admin's only.
    const orphans = await as('alice', 'GET', '/api/v1/orphans');
    expect(orphans.status).toBe(403);
    expect(orphans.json.message).toMatch(/"alice".*only an admin/);
    const all = await as('alice', 'GET', '/api/v1/workspaces?allNamespaces=true');
    expect(all.status).toBe(403);
    expect(all.json.message).toMatch(/alice.*every namespace/);
    // Nothing of bob's changed.
    expect((await as('bob', 'GET', '/api/v1/workspaces/dev')).json.spec.running).toBe(true);
    expect(names((await as('bob', 'GET', '/api/v1/workspaces')).json)).toEqual(['bob/dev']);
  });

  it("lets the proxy open an IDE only for its namespace's person and admins, and finds a namespace's Port", async () => {
    const reach = (who: string, uri: string) =>
      namespaceReach(PEOPLE[who]!, { method: 'GET', uri, host: 'h:8081', proto: 'http', upgrade: false });
    expect(reach('bob', '/ns/bob/workspace/dev/')).toBeUndefined();
    expect(reach('root', '/ns/bob/workspace/dev/')).toBeUndefined();
    expect(reach('alice', '/ns/bob/workspace/dev/static/x.js')).toMatch(/namespace "bob"/);
    expect(reach('alice', '/workspace/dev/')).toMatch(/namespace "default"/);
    expect(reach('alice', '/api/v1/workspaces')).toBeUndefined();
    expect(portTargetOf('/ns/bob/workspace/dev/port/4000/x?y')).toEqual({ workspace: 'bob/dev', port: 4000 });
    expect(portTargetOf('/workspace/dev/port/4000/tp-share/T0k/')).toEqual({
      workspace: 'dev',
      port: 4000,
      pathToken: 'T0k',
    });
    // Bob's share link of a public Port names his namespace's path.
    expect((await as('bob', 'POST', '/api/v1/ports', port('site', 'dev', 4000))).status).toBe(201);
    const shared = await as(
      'bob',
      'PATCH',
      '/api/v1/ports/site',
      { spec: { visibility: 'public' } },
      'application/merge-patch+json',
    );
    expect(shared.status).toBe(200);
    const link = await as('bob', 'GET', '/api/v1/ports/site/share');
    expect(link.json.path).toMatch(/^\/ns\/bob\/workspace\/dev\/port\/4000\/tp-share\/[A-Za-z0-9_-]+\/$/);
    expect((await as('alice', 'GET', '/api/v1/namespaces/bob/ports/site/share')).status).toBe(403);
    expect((await as('bob', 'DELETE', '/api/v1/ports/site')).status).toBe(200);
  });

  it('shows a person only their own namespace, and an admin every one', async () => {
    expect(names((await as('alice', 'GET', '/api/v1/workspaces')).json)).toEqual(['alice/dev']);
    expect(names((await as('root', 'GET', '/api/v1/workspaces')).json)).toEqual(['default/dev']);
    expect(names((await as('root', 'GET', '/api/v1/workspaces?allNamespaces=true')).json)).toEqual([
      'alice/dev',
      'bob/dev',
      'default/dev',
    ]);
    expect(names((await as('root', 'GET', '/api/v1/namespaces/bob/workspaces')).json)).toEqual(['bob/dev']);
    const page = await as('root', 'GET', '/api/v1/workspaces?allNamespaces=true&limit=2');
    expect(names(page.json)).toEqual(['alice/dev', 'bob/dev']);
    const rest = await as(
      'root',
      'GET',
      `/api/v1/workspaces?allNamespaces=true&limit=2&continue=${page.json.metadata.continue}`,
    );
    expect(names(rest.json)).toEqual(['default/dev']);
    // An admin changes anyone's.
    const r = await as(
      'root',
      'PATCH',
      '/api/v1/namespaces/bob/workspaces/dev',
      { metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    );
    expect(r.status).toBe(200);
  });

  it('records every write as the person who made it, unless ?fieldManager= names another', async () => {
    const r = await as(
      'alice',
      'PATCH',
      '/api/v1/workspaces/dev',
      { spec: { running: false } },
      'application/merge-patch+json',
    );
    expect(r.status).toBe(200);
    expect(r.json.metadata.managedFields.map((m: any) => m.manager)).toContain('alice');
    const b = await as('root', 'GET', '/api/v1/namespaces/bob/workspaces/dev');
    expect(b.json.metadata.managedFields.map((m: any) => m.manager)).toEqual(expect.arrayContaining(['bob', 'root']));
    const named = await as(
      'alice',
      'PATCH',
      '/api/v1/workspaces/dev?fieldManager=my-script',
      { metadata: { labels: { x: 'y' } } },
      'application/merge-patch+json',
    );
    expect(named.json.metadata.managedFields.map((m: any) => m.manager)).toContain('my-script');
  });

  it('refuses a body that names another namespace than the path', async () => {
    const r = await as(
      'alice',
      'POST',
      '/api/v1/namespaces/alice/workspaces',
      workspace('x', {}, { namespace: 'bob' }),
    );
    expect(r.status).toBe(400);
    expect(r.json.details.causes[0].field).toBe('metadata.namespace');
    const bad = await as('root', 'GET', '/api/v1/namespaces/Not_A_Label/workspaces');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/namespace "Not_A_Label"/);
    const invalid = await as('root', 'POST', '/api/v1/workspaces', workspace('y', {}, { namespace: 'UPPER' }));
    expect(invalid.status).toBe(400);
  });

  it('ties a Port to the workspace of its own namespace, and deletes it with that one only', async () => {
    const p = await as('alice', 'POST', '/api/v1/workspaces'.replace('workspaces', 'ports'), port('web', 'dev', 3000));
    expect(p.status).toBe(201);
    const alicesDev = (await as('alice', 'GET', '/api/v1/workspaces/dev')).json;
    expect(p.json.metadata.ownerReferences[0].uid).toBe(alicesDev.metadata.uid);
    // Bob's Port of the same port on his own dev does not clash with alice's.
    expect((await as('bob', 'POST', '/api/v1/ports', port('web', 'dev', 3000))).status).toBe(201);
    expect((await as('alice', 'DELETE', '/api/v1/workspaces/dev')).status).toBe(200);
    expect((await as('alice', 'GET', '/api/v1/ports/web')).status).toBe(404);
    expect((await as('bob', 'GET', '/api/v1/ports/web')).status).toBe(200);
    expect((await as('bob', 'GET', '/api/v1/workspaces/dev')).status).toBe(200);
  });

  it('applies into the namespace of the path, refuses an object naming another, and 403s a foreign one', async () => {
    const yaml = (ns?: string) =>
      `apiVersion: tidepool/v1\nkind: Workspace\nmetadata:\n  name: applied\n${ns ? `  namespace: ${ns}\n` : ''}spec: {running: false}\n`;
    const own = await as('alice', 'POST', '/api/v1/apply', yaml(), 'application/yaml');
    expect(own.status).toBe(200);
    expect(own.json.results).toEqual([{ kind: 'Workspace', name: 'applied', namespace: 'alice', action: 'created' }]);
    const conflict = await as('root', 'POST', '/api/v1/namespaces/alice/apply', yaml('bob'), 'application/yaml');
    expect(conflict.status).toBe(422);
    expect(conflict.json.details.causes[0]).toMatchObject({ field: 'metadata.namespace', line: 5 });
    expect(conflict.json.message).toMatch(/--namespace=bob/);
    const foreign = await as('alice', 'POST', '/api/v1/apply', yaml('bob'), 'application/yaml');
    expect(foreign.status).toBe(403);
    expect((await as('bob', 'GET', '/api/v1/workspaces/applied')).status).toBe(404);
  });

  it('lets only an admin write Quotas, and refuses what would go over one with the figures', async () => {
    const quota = (name: string, spec: Record<string, unknown>) => ({
      apiVersion: 'tidepool/v1',
      kind: 'Quota',
      metadata: { name },
      spec,
    });
    const denied = await as('alice', 'POST', '/api/v1/quotas', quota('mine', { workspaces: 100 }));
    expect(denied.status).toBe(403);
    expect(denied.json.message).toMatch(/"alice".*only an admin/);
    expect((await as('root', 'POST', '/api/v1/quotas', quota('everyone', { workspaces: 2, cpu: 4 }))).status).toBe(201);
    expect(
      (await as('root', 'POST', '/api/v1/quotas', quota('bob-more', { namespace: 'bob', workspaces: 5 }))).status,
    ).toBe(201);
    // alice has `applied` (stopped); one more fits, a third does not.
    expect((await as('alice', 'POST', '/api/v1/workspaces', workspace('one'))).status).toBe(201);
    const over = await as('alice', 'POST', '/api/v1/workspaces', workspace('two', { running: false }));
    expect(over.status).toBe(422);
    expect(over.json.details.causes[0]).toMatchObject({ field: 'metadata.name', reason: 'QuotaExceeded' });
    expect(over.json.message).toContain('quota "everyone"');
    expect(over.json.message).toMatch(/would use 3 workspaces \(2 in use, 1 asked\), and may use 2/);
    // `one` runs with 2 vCPUs; starting `applied` with 4 more goes over 4.
    const start = await as(
      'alice',
      'PATCH',
      '/api/v1/workspaces/applied',
      { spec: { running: true, resources: { cpu: 4 } } },
      'application/merge-patch+json',
    );
    expect(start.status).toBe(422);
    expect(start.json.details.causes[0].field).toBe('spec.running');
    expect(start.json.message).toMatch(/would use 6 vCPUs/);
    // Bob's own quota (5 workspaces) overrides the default.
    for (const n of ['b1', 'b2', 'b3'])
      expect((await as('bob', 'POST', '/api/v1/workspaces', workspace(n, { running: false }))).status).toBe(201);
    const use = await as('alice', 'GET', '/api/v1/quotausage');
    expect(use.json.items).toEqual([
      expect.objectContaining({
        namespace: 'alice',
        quota: 'everyone',
        limits: { workspaces: 2, cpu: 4 },
        used: { workspaces: 2, cpu: 2, memory: '4Gi' },
      }),
    ]);
    const every = await as('root', 'GET', '/api/v1/quotausage?allNamespaces=true');
    expect(every.json.items.map((u: any) => [u.namespace, u.quota, u.used.workspaces])).toEqual([
      ['alice', 'everyone', 2],
      ['bob', 'bob-more', 4],
      ['default', 'everyone', 1],
    ]);
  });
});
