// Namespaces in the controller and the drivers' names: a workspace `dev` in two namespaces gets
// two instances, two routes and two URLs (the stub runtime, the memory proxy, a real store),
// while the default namespace keeps exactly today's names; and the naming functions each layer
// uses (object keys, route names in the zone, Incus instance names, the access log).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workspaceOfEntry } from '../../drivers/proxy/caddy/access.js';
import { normalizeRouteTable } from '../../drivers/proxy/caddy/table.js';
import { hostsFile, parseHostsFile } from '../../drivers/proxy/dns/zone.js';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import {
  keyOf,
  keyOfRoute,
  objectKey,
  routeName,
  splitKey,
  validateManifest,
  workspacePath,
  type Port,
  type Workspace,
} from '../../specs/index.js';
import { Store } from '../../store/index.js';
import { cond, harness, type Harness, waitFor } from './helpers.js';

function inNamespace<T>(
  kind: 'Workspace' | 'Port',
  name: string,
  namespace: string | undefined,
  spec: object,
  metadata: object = {},
): T {
  const r = validateManifest({
    apiVersion: 'tidepool/v1',
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...metadata },
    spec,
  });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as T;
}

describe('object keys and the names derived from them', () => {
  it('keep the default namespace exactly as before namespaces, and give every other its own', () => {
    expect(objectKey('default', 'dev')).toBe('dev');
    expect(objectKey('team-a', 'dev')).toBe('team-a/dev');
    expect(splitKey('team-a/dev')).toEqual({ namespace: 'team-a', name: 'dev' });
    expect(splitKey('dev')).toEqual({ namespace: 'default', name: 'dev' });
    expect(keyOf({ metadata: { name: 'dev', namespace: 'default' } })).toBe('dev');
    expect(routeName('dev')).toBe('dev');
    expect(routeName('team-a/dev')).toBe('dev.team-a');
    expect(keyOfRoute('dev.team-a')).toBe('team-a/dev');
    expect(keyOfRoute('dev')).toBe('dev');
    expect(workspacePath('dev')).toBe('/workspace/dev');
    expect(workspacePath('team-a/dev')).toBe('/ns/team-a/workspace/dev');
  });

  it('give Incus instances unique names of at most 63 characters, the default namespace unchanged', () => {
    const id = 'tidepool-id';
    expect(instanceName('dev', id)).toMatch(/^dev-[0-9a-f]{6}$/);
    const a = instanceName('team-a/dev', id);
    const b = instanceName('team-b/dev', id);
    expect(a).toMatch(/^team-a-dev-[0-9a-f]{8}-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
    // A default workspace named like the namespaced one's plain form does not meet it.
    expect(instanceName('team-a-dev', id)).not.toBe(a);
    const long = instanceName(`${'n'.repeat(63)}/${'w'.repeat(63)}`, id);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(`${long}-home`.length).toBeLessThanOrEqual(68);
  });

  it("write and read a namespace's names in the zone, beside the same name in the default namespace", () => {
    const table = {
      workspaces: [
        { name: 'dev', upstream: '10.0.0.1:8080' },
        { name: 'dev.team-a', upstream: '10.0.0.2:8080' },
      ],
      ports: [
        { workspace: 'dev', port: 3000, upstream: '10.0.0.1:3000' },
        { workspace: 'dev.team-a', port: 3000, upstream: '10.0.0.2:3000' },
      ],
      idle: { workspaces: ['stopped.team-a'], ports: ['stopped.team-a/5000'] },
    };
    expect(normalizeRouteTable(table)).toEqual(table);
    for (const bad of ['dev.team-a.x', 'Dev', 'dev.', `${'a'.repeat(64)}.team-a`])
      expect(() => normalizeRouteTable({ workspaces: [{ name: bad, upstream: '10.0.0.3:8080' }], ports: [] })).toThrow(
        /is not a route name/,
      );
    const text = hostsFile(table, '7');
    expect(text).toContain('10.0.0.2 dev.team-a.ws.tidepool.internal');
    expect(text).toContain('10.0.0.2 3000.dev.team-a.port.tidepool.internal');
    expect(parseHostsFile(text, 8080)).toEqual({ table, serial: '7' });
  });

  it("tell a namespace's workspace in Caddy's access log by its path", () => {
    const entry = (uri: string) => `{"level":"info","request":{"uri":"${uri}","method":"GET"}}`;
    expect(workspaceOfEntry(entry('/workspace/dev/'))).toBe('dev');
    expect(workspaceOfEntry(entry('/ns/team-a/workspace/dev/static/x.js'))).toBe('dev.team-a');
    expect(workspaceOfEntry(entry('/ns/team-a/other/dev/'))).toBeUndefined();
  });
});

describe('a workspace dev in two namespaces', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('gets an instance, a route and a URL of its own in each, and the default one keeps its own', async () => {
    await h.start();
    await h.store.transaction((tx) => {
      tx.create(inNamespace<Workspace>('Workspace', 'dev', undefined, {}));
      // As the API writes it for alice signed in (api/namespaces.ts managerOf).
      const byAlice = [
        { manager: 'alice', operation: 'Update', time: '2026-01-01T00:00:00Z', fields: ['spec.running'] },
      ];
      tx.create(inNamespace<Workspace>('Workspace', 'dev', 'team-a', {}, { managedFields: byAlice }));
      tx.create(inNamespace<Port>('Port', 'web', 'team-a', { workspace: 'dev', port: 3000 }));
    });
    const plain = await h.ready('dev');
    const other = await waitFor('team-a/dev Ready', () => {
      const w = h.store.get('Workspace', 'team-a/dev');
      return cond(w, 'Ready')?.status === 'True' ? w : undefined;
    });
    expect(plain.status!.url).toBe('/workspace/dev/');
    expect(other.status!.url).toBe('/ns/team-a/workspace/dev/');
    expect(plain.status!.ip).not.toBe(other.status!.ip);
    expect(
      h.runtime
        .snapshot()
        .map((v) => v.name)
        .sort(),
    ).toEqual(['dev', 'team-a/dev']);
    const port = await waitFor('team-a/web Ready', () => {
      const p = h.store.get('Port', 'team-a/web');
      return cond(p, 'Ready')?.status === 'True' ? p : undefined;
    });
    expect(port.status!.url).toBe('/ns/team-a/workspace/dev/port/3000/');
    expect(h.proxy.table()).toEqual({
      workspaces: [
        { name: 'dev', upstream: `${plain.status!.ip}:8080` },
        { name: 'dev.team-a', upstream: `${other.status!.ip}:8080` },
      ],
      ports: [{ workspace: 'dev.team-a', port: 3000, upstream: `${other.status!.ip}:3000` }],
    });
    // Events about it live in its namespace, name it, and name the person who asked.
    const created = await waitFor('a Created Event in team-a', () =>
      h.store
        .list('Event')
        .items.find((e) => e.metadata.namespace === 'team-a' && e.regarding.name === 'dev' && e.reason === 'Created'),
    );
    expect(created.regarding).toMatchObject({ kind: 'Workspace', name: 'dev', namespace: 'team-a' });
    expect(created.note).toMatch(/\(asked by alice\)\.$/);
    const plainCreated = h.store
      .list('Event')
      .items.find((e) => e.metadata.namespace === undefined && e.regarding.name === 'dev' && e.reason === 'Created');
    expect(plainCreated?.note).not.toMatch(/asked by/);
    // Deleting one leaves the other running.
    await h.store.delete('Workspace', 'team-a/dev');
    await waitFor('team-a/dev gone', () => !h.store.get('Workspace', 'team-a/dev'));
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['dev']);
    expect(h.store.get('Port', 'team-a/web')).toBeUndefined();
    expect(h.store.get('Workspace', 'dev')?.metadata.deletionTimestamp).toBeUndefined();
  });
});

describe('a store with namespaces', () => {
  it('loads again from its snapshot and journal, beside data written before namespaces', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tp-ns-store-'));
    try {
      const file = join(dir, 'store.json');
      let store = await Store.open(file);
      await store.create(inNamespace<Workspace>('Workspace', 'dev', undefined, {}));
      await store.create(inNamespace<Workspace>('Workspace', 'dev', 'team-a', {}));
      await store.delete('Workspace', 'dev');
      await store.create(inNamespace<Workspace>('Workspace', 'dev', undefined, { running: false }));
      await store.close();
      store = await Store.open(file);
      expect(store.get('Workspace', 'team-a/dev')?.metadata.namespace).toBe('team-a');
      expect(store.get('Workspace', 'dev')?.spec.running).toBe(false);
      expect(store.list('Workspace').items.map(keyOf).sort()).toEqual(['dev', 'team-a/dev']);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
