// What follows a person, over HTTP with two people and an admin: the editor settings
// (/api/v1/settings is the requester's namespace's, /api/v1/namespaces/{ns}/settings names one,
// an admin's only for someone else's) and the usage figures (`tidepool top`, the UI's bars: one
// namespace's, every one's only for an admin). Sign-in is not this test's business: the test
// app sets the identity (what the login gate does) from a header that only this app reads.
import type { FastifyInstance } from 'fastify';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../api/identity.js';
import { buildServer } from '../../api/server.js';
import type { UsageList, UsageService } from '../../specs/usage.js';
import { EditorSettings, Store } from '../../store/index.js';
import { AUTH, PASSWORD, USER } from './helpers.js';

const PEOPLE: Record<string, Identity> = {
  alice: { name: 'alice', namespace: 'alice', admin: false, groups: [], via: 'session' },
  bob: { name: 'bob', namespace: 'bob', admin: false, groups: [], via: 'session' },
  root: { name: 'root', namespace: 'default', admin: true, groups: ['admins'], via: 'session' },
};

// The sampler's answer, by workspace key (what the controller's sampler keeps).
const SAMPLED = ['dev', 'alice/dev', 'alice/web', 'bob/dev'];
const usage: UsageService = {
  list: ({ name }) => ({
    apiVersion: 'v1',
    kind: 'UsageList',
    intervalSeconds: 10,
    items: SAMPLED.filter((k) => name === undefined || k === name).map((k) => ({
      name: k,
      sampledAt: '2026-01-01T00:00:00Z',
      cpuCores: 0.5,
    })),
  }),
};

let dir: string;
let store: Store;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-per-person-'));
  store = await Store.open(join(dir, 'store.json'));
  app = await buildServer({
    store,
    logger: false,
    credentials: { username: USER, password: PASSWORD },
    settings: new EditorSettings(dir),
    observe: { usage: { service: usage } },
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

async function as(who: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: AUTH, 'x-test-identity': who };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

const profile = (content: string) => ({
  apiVersion: 'tidepool/v1',
  kind: 'EditorSettings',
  files: { 'settings.json': { content, mtime: 5 } },
  extensions: [],
});

describe('editor settings are each person’s', () => {
  it('an import lands in the requester’s namespace only; the default namespace keeps its old file', async () => {
    expect((await as('alice', 'PUT', '/api/v1/settings', profile('{"alice":1}'))).status).toBe(200);
    expect((await as('bob', 'GET', '/api/v1/settings')).json.files).toEqual({});
    expect((await as('root', 'GET', '/api/v1/settings')).json.files).toEqual({});
    expect((await as('alice', 'GET', '/api/v1/settings')).json.files['settings.json'].content).toBe('{"alice":1}');
    expect((await as('alice', 'GET', '/api/v1/namespaces/alice/settings')).json.source).toBe('import');
    const onDisk = JSON.parse(await readFile(join(dir, 'settings', 'namespaces', 'alice', 'editor.json'), 'utf8'));
    expect(onDisk.files['settings.json'].content).toBe('{"alice":1}');

    expect((await as('root', 'PUT', '/api/v1/settings', profile('{"root":1}'))).status).toBe(200);
    const single = JSON.parse(await readFile(join(dir, 'settings', 'editor.json'), 'utf8'));
    expect(single.files['settings.json'].content).toBe('{"root":1}');
  });

  it('someone else’s namespace is 403 naming who asked; an admin may name any; a bad namespace is 400', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', profile('{"bob":"was here"}')],
    ] as const) {
      const r = await as('bob', method, '/api/v1/namespaces/alice/settings', body);
      expect(r.status, `${method}: ${r.text}`).toBe(403);
      expect(r.json.message).toMatch(/"bob".*may not access namespace "alice"/);
    }
    expect((await as('alice', 'GET', '/api/v1/settings')).json.files['settings.json'].content).toBe('{"alice":1}');
    const put = await as('root', 'PUT', '/api/v1/namespaces/bob/settings', profile('{"for":"bob"}'));
    expect(put.status).toBe(200);
    expect((await as('bob', 'GET', '/api/v1/settings')).json.files['settings.json'].content).toBe('{"for":"bob"}');
    expect((await as('root', 'GET', '/api/v1/namespaces/Bad_NS/settings')).status).toBe(400);
  });
});

describe('usage follows namespaces', () => {
  const shown = (list: UsageList) => list.items.map((u) => `${u.namespace ?? 'default'}/${u.name}`).sort();

  it('a person sees only their own namespace’s, by name; someone else’s namespace or every one is 403', async () => {
    const own = await as('alice', 'GET', '/api/v1/usage');
    expect(own.status).toBe(200);
    expect(shown(own.json)).toEqual(['alice/dev', 'alice/web']);
    expect(own.json.items.map((u: { name: string }) => u.name).sort()).toEqual(['dev', 'web']);
    expect(shown((await as('alice', 'GET', '/api/v1/namespaces/alice/usage')).json)).toEqual([
      'alice/dev',
      'alice/web',
    ]);
    const one = await as('bob', 'GET', '/api/v1/usage?workspace=dev');
    expect(shown(one.json)).toEqual(['bob/dev']);
    const theirs = await as('bob', 'GET', '/api/v1/namespaces/alice/usage');
    expect(theirs.status).toBe(403);
    expect(theirs.json.message).toMatch(/"bob".*namespace "alice"/);
    const every = await as('bob', 'GET', '/api/v1/usage?allNamespaces=true');
    expect(every.status).toBe(403);
  });

  it('an admin sees their own namespace, the one they name, or every one', async () => {
    expect(shown((await as('root', 'GET', '/api/v1/usage')).json)).toEqual(['default/dev']);
    expect(shown((await as('root', 'GET', '/api/v1/namespaces/bob/usage')).json)).toEqual(['bob/dev']);
    const one = await as('root', 'GET', '/api/v1/namespaces/alice/usage?workspace=web');
    expect(shown(one.json)).toEqual(['alice/web']);
    expect(shown((await as('root', 'GET', '/api/v1/usage?allNamespaces=true')).json)).toEqual([
      'alice/dev',
      'alice/web',
      'bob/dev',
      'default/dev',
    ]);
    const both = await as('root', 'GET', '/api/v1/usage?allNamespaces=true&workspace=dev');
    expect(both.status).toBe(400);
  });
});
