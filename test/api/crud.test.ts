import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoreState } from '../../store/index.js';
import { AUTH, PASSWORD, port, startTestServer, workspace, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('resource CRUD over HTTP', () => {
  it('creates with server-set fields and defaults, ignoring status in the body', async () => {
    const r = await t.req('POST', '/api/v1/workspaces', {
      body: { ...workspace('alice'), status: { phase: 'Running' } },
    });
    expect(r.status).toBe(201);
    expect(r.json.metadata).toMatchObject({ name: 'alice', generation: 1 });
    expect(r.json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.json.spec).toEqual({ image: 'default', running: true, resources: { cpu: 2, memory: '4Gi' } });
    expect(r.json.status?.phase).toBeUndefined();
    const g = await t.req('GET', '/api/v1/workspaces/alice');
    expect(g.status).toBe(200);
    expect(g.json).toEqual(r.json);
  });

  it('answers 409 AlreadyExists for an existing name and 404 for a missing one', async () => {
    const r = await t.req('POST', '/api/v1/workspaces', { body: workspace('alice') });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ kind: 'Status', code: 409, reason: 'AlreadyExists' });
    const g = await t.req('GET', '/api/v1/workspaces/nobody');
    expect(g.status).toBe(404);
    expect(g.json).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'workspaces "nobody" not found' });
  });

  it('bumps generation only on spec changes; resourceVersion on every write; stale RV gets 409', async () => {
    const a = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    const labelled = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: workspace('alice', {}, { labels: { team: 'web' }, resourceVersion: a.metadata.resourceVersion }),
    });
    expect(labelled.status).toBe(200);
    expect(labelled.json.metadata.generation).toBe(1);
    expect(Number(labelled.json.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    const stopped = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: workspace('alice', { running: false }, { labels: { team: 'web' } }),
    });
    expect(stopped.json.metadata.generation).toBe(2);
    const same = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: workspace('alice', { running: false }, { labels: { team: 'web' } }),
    });
    expect(same.json.metadata.resourceVersion).toBe(stopped.json.metadata.resourceVersion);
    const stale = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: workspace('alice', { running: true }, { resourceVersion: a.metadata.resourceVersion }),
    });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ reason: 'Conflict' });
    expect((await t.req('GET', '/api/v1/workspaces/alice')).json.spec.running).toBe(false);
    // an empty resourceVersion is no precondition
    const empty = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: workspace('alice', { running: false }, { labels: { team: 'web' }, resourceVersion: '' }),
    });
    expect(empty.status).toBe(200);
  });

  it('rejects a body whose name or kind does not match the URL', async () => {
    const r = await t.req('PUT', '/api/v1/workspaces/alice', { body: workspace('bob') });
    expect(r.status).toBe(400);
    expect(r.json.details.causes[0].field).toBe('metadata.name');
    const k = await t.req('POST', '/api/v1/workspaces', { body: port('p', 'alice', 3000) });
    expect(k.status).toBe(400);
    expect(k.json.message).toMatch(/kind/);
  });

  it('applies a JSON merge patch, and honours a resourceVersion in it', async () => {
    const before = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    const r = await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/merge-patch+json',
      body: { metadata: { labels: { team: null, tier: 'gold' } }, spec: { resources: { memory: '8Gi' } } },
    });
    expect(r.status).toBe(200);
    expect(r.json.metadata.labels).toEqual({ tier: 'gold' });
    expect(r.json.spec).toEqual({ image: 'default', running: false, resources: { cpu: 2, memory: '8Gi' } });
    expect(r.json.metadata.generation).toBe(before.metadata.generation + 1);
    const plain = await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/json',
      body: { spec: { running: true } },
    });
    expect(plain.json.spec.running).toBe(true);
    const stale = await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: before.metadata.resourceVersion }, spec: { running: false } },
    });
    expect(stale.status).toBe(409);
    const bad = await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/merge-patch+json',
      body: { spec: { resources: { cpu: 0 } } },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes[0].field).toBe('spec.resources.cpu');
    const jsonPatch = await t.req('PATCH', '/api/v1/workspaces/alice', {
      type: 'application/json-patch+json',
      body: [],
    });
    expect(jsonPatch.status).toBe(415);
    const missing = await t.req('PATCH', '/api/v1/workspaces/nobody', {
      type: 'application/merge-patch+json',
      body: {},
    });
    expect(missing.status).toBe(404);
  });

  it('writes status only through the status subresource', async () => {
    const cur = (await t.req('GET', '/api/v1/workspaces/alice')).json;
    const status = {
      phase: 'Running',
      observedGeneration: cur.metadata.generation,
      ip: '10.0.0.2',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Running', message: 'ok', lastTransitionTime: '2024-01-01T00:00:00Z' },
      ],
    };
    const r = await t.req('PUT', '/api/v1/workspaces/alice/status', { body: { ...cur, status } });
    expect(r.status).toBe(200);
    expect(r.json.status).toEqual(status);
    expect(r.json.metadata.generation).toBe(cur.metadata.generation);
    const stale = await t.req('PUT', '/api/v1/workspaces/alice/status', {
      body: { ...cur, status: { phase: 'Failed' } },
    });
    expect(stale.status).toBe(409);
    const bad = await t.req('PUT', '/api/v1/workspaces/alice/status', {
      body: { metadata: { name: 'alice' }, status: { phase: 'Dreaming' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes[0].field).toBe('status.phase');
    // A spec write keeps status; a status in a PUT body is ignored.
    const put = await t.req('PUT', '/api/v1/workspaces/alice', {
      body: { ...workspace('alice', { running: true }, { labels: { tier: 'gold' } }), status: { phase: 'Failed' } },
    });
    expect(put.json.status).toEqual(status);
    expect((await t.req('GET', '/api/v1/workspaces/alice/status')).json.status).toEqual(status);
  });

  it('filters lists by label selector (equality and set-based), sorted by name, 400 on a bad selector', async () => {
    for (const [n, team] of [
      ['w-c', 'web'],
      ['w-a', 'api'],
      ['w-b', 'web'],
      ['w-d', undefined],
    ] as const) {
      const r = await t.req('POST', '/api/v1/workspaces', { body: workspace(n, {}, team ? { labels: { team } } : {}) });
      expect(r.status).toBe(201);
    }
    const names = async (sel: string) => {
      const r = await t.req('GET', `/api/v1/workspaces?labelSelector=${encodeURIComponent(sel)}`);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ apiVersion: 'tidepool/v1', kind: 'WorkspaceList' });
      expect(r.json.metadata.resourceVersion).toMatch(/^\d+$/);
      return r.json.items.map((o: any) => o.metadata.name);
    };
    expect(await names('')).toEqual(['alice', 'w-a', 'w-b', 'w-c', 'w-d']);
    expect(await names('team=web')).toEqual(['w-b', 'w-c']);
    expect(await names('team==web')).toEqual(['w-b', 'w-c']);
    expect(await names('team!=web')).toEqual(['alice', 'w-a', 'w-d']);
    expect(await names('team in (web, api)')).toEqual(['w-a', 'w-b', 'w-c']);
    expect(await names('team notin (web)')).toEqual(['alice', 'w-a', 'w-d']);
    expect(await names('team')).toEqual(['w-a', 'w-b', 'w-c']);
    expect(await names('!team')).toEqual(['alice', 'w-d']);
    expect(await names('team=web,tier=gold')).toEqual([]);
    const bad = await t.req('GET', `/api/v1/workspaces?labelSelector=${encodeURIComponent('team in web')}`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(bad.json.message).toMatch(/labelSelector/);
  });

  it('serves a fresh list after every write (the list cache follows the resourceVersion)', async () => {
    const l1 = (await t.req('GET', '/api/v1/workspaces')).json;
    await t.req('DELETE', '/api/v1/workspaces/w-d');
    const l2 = (await t.req('GET', '/api/v1/workspaces')).json;
    expect(l2.items.map((o: any) => o.metadata.name)).not.toContain('w-d');
    expect(Number(l2.metadata.resourceVersion)).toBeGreaterThan(Number(l1.metadata.resourceVersion));
  });

  it('keeps an object with finalizers until they are removed, then deletes its Ports', async () => {
    const ws = await t.req('POST', '/api/v1/workspaces', {
      body: workspace('fin', {}, { finalizers: ['tidepool/vm'] }),
    });
    expect(ws.status).toBe(201);
    const p = await t.req('POST', '/api/v1/ports', { body: port('fin-3000', 'fin', 3000) });
    expect(p.status).toBe(201);
    expect(p.json.metadata.ownerReferences).toEqual([
      { apiVersion: 'tidepool/v1', kind: 'Workspace', name: 'fin', uid: ws.json.metadata.uid, controller: true },
    ]);
    const d = await t.req('DELETE', '/api/v1/workspaces/fin');
    expect(d.status).toBe(200);
    expect(d.json.metadata.deletionTimestamp).toMatch(/Z$/);
    expect((await t.req('GET', '/api/v1/workspaces/fin')).status).toBe(200);
    expect((await t.req('GET', '/api/v1/ports/fin-3000')).status).toBe(200);
    const done = await t.req('PATCH', '/api/v1/workspaces/fin', {
      type: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });
    expect(done.status).toBe(200);
    expect((await t.req('GET', '/api/v1/workspaces/fin')).status).toBe(404);
    expect((await t.req('GET', '/api/v1/ports/fin-3000')).status).toBe(404);
    expect((await t.req('DELETE', '/api/v1/workspaces/fin')).status).toBe(404);
  });

  it('honours delete preconditions from the query and from DeleteOptions', async () => {
    const c = (await t.req('POST', '/api/v1/workspaces', { body: workspace('gone') })).json;
    await t.req('PATCH', '/api/v1/workspaces/gone', {
      type: 'application/merge-patch+json',
      body: { spec: { running: false } },
    });
    expect(
      (await t.req('DELETE', `/api/v1/workspaces/gone?resourceVersion=${c.metadata.resourceVersion}`)).status,
    ).toBe(409);
    const wrongUid = await t.req('DELETE', '/api/v1/workspaces/gone', {
      body: { kind: 'DeleteOptions', preconditions: { uid: 'nope' } },
    });
    expect(wrongUid.status).toBe(409);
    const cur = (await t.req('GET', '/api/v1/workspaces/gone')).json;
    const ok = await t.req('DELETE', '/api/v1/workspaces/gone', {
      body: { preconditions: { resourceVersion: cur.metadata.resourceVersion, uid: cur.metadata.uid } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.metadata.name).toBe('gone');
    expect((await t.req('GET', '/api/v1/workspaces/gone')).status).toBe(404);
  });

  it('makes server-written kinds read-only (405) and answers unknown routes with a 404 Status', async () => {
    for (const [m, path] of [
      ['POST', '/api/v1/events'],
      ['PUT', '/api/v1/events/x'],
      ['DELETE', '/api/v1/events/x'],
      ['PATCH', '/api/v1/events/x'],
      ['DELETE', '/api/v1/workspaces'],
    ] as const) {
      const r = await t.req(m, path, m === 'DELETE' ? {} : { body: {} });
      expect(r.status, `${m} ${path}`).toBe(405);
      expect(r.json).toMatchObject({ kind: 'Status', code: 405, reason: 'MethodNotAllowed' });
      expect(r.headers.get('allow')).toBeTruthy();
    }
    const l = await t.req('GET', '/api/v1/events');
    expect(l.json).toMatchObject({ kind: 'EventList', items: [] });
    const nf = await t.req('GET', '/api/v1/gizmos');
    expect(nf.status).toBe(404);
    expect(nf.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  it('lists the kinds at /api/v1', async () => {
    const r = await t.req('GET', '/api/v1');
    expect(r.json.resources.map((x: any) => x.name)).toEqual(expect.arrayContaining(['workspaces', 'ports', 'events']));
  });
});

describe('auth, health and OpenAPI', () => {
  it('needs basic auth everywhere but /healthz, with WWW-Authenticate on 401', async () => {
    const h = await t.req('GET', '/healthz', { auth: null });
    expect(h.status).toBe(200);
    expect(h.text).toBe('ok');
    for (const path of ['/api/v1/workspaces', '/api/v1/workspaces/alice', '/openapi.json', '/nowhere']) {
      const r = await t.req('GET', path, { auth: null });
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="tidepool"/);
      expect(r.json).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    }
    const wrong = await t.req('GET', '/api/v1/workspaces', {
      auth: `Basic ${Buffer.from('admin:nope').toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
    const wrongUser = await t.req('GET', '/api/v1/workspaces', {
      auth: `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}`,
    });
    expect(wrongUser.status).toBe(401);
    const bearer = await t.req('GET', '/api/v1/workspaces', { auth: 'Bearer abc' });
    expect(bearer.status).toBe(401);
    const lower = await t.req('GET', '/api/v1/workspaces', { auth: AUTH.replace('Basic', 'basic') });
    expect(lower.status).toBe(200);
  });

  it('serves an OpenAPI 3.1 document generated from the schemas and KINDS', async () => {
    const r = await t.req('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    const s = r.json.components.schemas;
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(['Workspace', 'WorkspaceList', 'Port', 'PortList', 'Event', 'Status']),
    );
    expect(s.Port.properties.spec.properties.port).toMatchObject({ type: 'integer', minimum: 1024, maximum: 65535 });
    expect(s.WorkspaceList.properties.items.items).toEqual({ $ref: '#/components/schemas/Workspace' });
    expect(r.json.paths['/api/v1/workspaces/{name}']).toHaveProperty('patch');
    expect(r.json.paths['/api/v1/ports/{name}/status']).toHaveProperty('put');
    expect(r.json.paths['/api/v1/events']).not.toHaveProperty('post');
    expect(r.json.paths['/api/v1/syncs/{name}/status']).not.toHaveProperty('put');
    expect(Object.keys(r.json.paths)).toEqual(
      expect.arrayContaining(['/api/v1/workspaces', '/api/v1/ports/{name}', '/api/v1/events/{name}', '/api/v1/syncs']),
    );
    expect(r.json.paths['/api/v1/apply']).toHaveProperty('post');
    expect(r.json.components.securitySchemes.basicAuth).toEqual({ type: 'http', scheme: 'basic' });
  });
});

describe('concurrency', () => {
  it('lets exactly one of 50 concurrent updates with the same resourceVersion win', async () => {
    const created = (await t.req('POST', '/api/v1/workspaces', { body: workspace('race') })).json;
    const rv = created.metadata.resourceVersion;
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.req('PUT', '/api/v1/workspaces/race', {
          body: workspace('race', {}, { labels: { writer: `w${i}` }, resourceVersion: rv }),
        }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200);
    const conflicts = replies.filter((r) => r.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    for (const c of conflicts) expect(c.json.reason).toBe('Conflict');
    const winner = ok[0]!.json;
    const now = (await t.req('GET', '/api/v1/workspaces/race')).json;
    expect(now.metadata.labels).toEqual(winner.metadata.labels);
    expect(now.metadata.resourceVersion).toBe(winner.metadata.resourceVersion);
    expect(Number(now.metadata.resourceVersion)).toBe(Number(rv) + 1);
    // and it is on disk
    const onDisk = await readStoreState(t.storeFile);
    expect(onDisk.objects.Workspace?.race?.metadata.labels).toEqual(winner.metadata.labels);
  });
});
