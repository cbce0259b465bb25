// The sync seen through the REST API: GET /api/v1/syncs, `tidepool apply` (POST
// /api/v1/apply) beside a sync, and changes made through the API put back by self-heal.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../api/server.js';
import { cleanupAll, harness, waitFor, workspaceYaml } from './helpers.js';

const credentials = { username: 'admin', password: 'sync-test-password' };
const auth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

let apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps) await a.close();
  apps = [];
  await cleanupAll();
});

describe('sync through the API', () => {
  it('GET /api/v1/syncs shows the folder, revisions, conditions, errors and inventory', async () => {
    const h = await harness({ 'alice.yaml': workspaceYaml('alice'), 'bob.yaml': workspaceYaml('bob') });
    const app = await buildServer({ store: h.store, credentials });
    apps.push(app);

    const list = await app.inject({ method: 'GET', url: '/api/v1/syncs', headers: { authorization: auth } });
    expect(list.statusCode).toBe(200);
    const body = list.json();
    expect(body.kind).toBe('SyncList');
    expect(body.items).toHaveLength(1);
    const s = body.items[0];
    expect(s.metadata.name).toBe('manifests');
    expect(s.spec.path).toBe(h.dir);
    expect(s.status.lastAppliedRevision).toMatch(/^sha256:/);
    expect(s.status.inventory).toEqual([
      { kind: 'Workspace', name: 'alice' },
      { kind: 'Workspace', name: 'bob' },
    ]);
    expect(s.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');

    await h.write('bob.yaml', 'kind: Workspace\nmetadata:\n  name: bob\nspec:\n  cpu: [\n');
    await waitFor(() => h.condition('Stalled')?.status === 'True', 'Stalled');
    const one = (
      await app.inject({ method: 'GET', url: '/api/v1/syncs/manifests', headers: { authorization: auth } })
    ).json();
    expect(one.status.conditions.find((c: any) => c.type === 'Stalled').reason).toBe('BuildFailed');
    expect(one.status.errors[0]).toMatchObject({
      file: 'bob.yaml',
      line: expect.any(Number),
      column: expect.any(Number),
    });

    // Syncs are written by the server only.
    const del = await app.inject({
      method: 'DELETE',
      url: '/api/v1/syncs/manifests',
      headers: { authorization: auth },
    });
    expect(del.statusCode).toBe(405);
  });

  it('`tidepool apply` beside a sync is never pruned; an API edit of a field the file sets is put back', async () => {
    const h = await harness(
      { 'alice.yaml': workspaceYaml('alice', { resources: { cpu: 2 } }), 'bob.yaml': workspaceYaml('bob') },
      { intervalMs: 400 },
    );
    const app = await buildServer({ store: h.store, credentials });
    apps.push(app);

    const applied = await app.inject({
      method: 'POST',
      url: '/api/v1/apply',
      headers: { authorization: auth, 'content-type': 'application/yaml' },
      payload: workspaceYaml('from-cli'),
    });
    expect(applied.statusCode).toBe(200);
    const patched = await app.inject({
      method: 'PATCH',
      url: '/api/v1/workspaces/alice',
      headers: { authorization: auth, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ spec: { resources: { cpu: 3 } } }),
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().spec.resources.cpu).toBe(3);

    await unlink(join(h.dir, 'bob.yaml'));
    await waitFor(() => !h.ws('bob'), 'bob pruned');
    await waitFor(() => h.ws('alice')?.spec.resources.cpu === 2, 'alice put back');
    expect(h.ws('from-cli')).toBeDefined();
    expect(h.ws('from-cli')!.metadata.annotations?.['tidepool/sync']).toBeUndefined();
  });
});
