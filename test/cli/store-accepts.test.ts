// What the store accepts, it can load: a fieldManager the store could not load again (more than
// 128 characters, control characters) is refused on every write path of the real API with a
// 400 naming the parameter, nothing is stored, and the real `tidepool serve` starts again on
// the same data directory. Also: a corrupt Events file is set aside at start, with a warning
// naming it, instead of keeping serve from starting.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, type Served } from './helpers.js';

const USER = 'admin';
const PASSWORD = 'store-accepts-test';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const env = cleanEnv({ TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD });
const served: Served[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const s of served) await s.proc.stop('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const manifest = (name: string) =>
  JSON.stringify({
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name },
    spec: { image: 'default', running: false, resources: { cpu: 1, memory: '256Mi' } },
  });

async function call(base: string, method: string, path: string, body?: string, type = 'application/json') {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': type } : {}) },
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function serveOn(dataDir: string): Promise<Served> {
  const s = await startServe(dataDir, env);
  served.push(s);
  return s;
}

describe('a fieldManager the store could not load again', () => {
  it('is a 400 naming fieldManager on apply, create, update and patch; nothing is stored; serve starts again', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tp-store-accepts-'));
    dirs.push(dataDir);
    let s = await serveOn(dataDir);
    const long = 'm'.repeat(129);
    const bad = [long, 'line\nbreak', 'bell\u0007', `tab\there`];
    for (const m of bad) {
      const q = `?fieldManager=${encodeURIComponent(m)}`;
      const attempts = [
        await call(s.address, 'POST', `/api/v1/apply${q}`, manifest('applied'), 'application/yaml'),
        await call(s.address, 'POST', `/api/v1/workspaces${q}`, manifest('created')),
      ];
      for (const r of attempts) {
        expect(r.status, JSON.stringify(r.json)).toBe(400);
        expect(r.json.kind).toBe('Status');
        expect(r.json.details.causes[0].field).toBe('fieldManager');
        expect(r.json.message).toMatch(/fieldManager (may not be more than 128 characters|may not contain control)/);
      }
    }
    // An object stored by a good manager, then bad update and patch attempts on it.
    expect((await call(s.address, 'POST', '/api/v1/workspaces', manifest('kept'))).status).toBe(201);
    const q = `?fieldManager=${long}`;
    const patch = await call(
      s.address,
      'PATCH',
      `/api/v1/workspaces/kept${q}`,
      '{"metadata":{"labels":{"a":"b"}}}',
      'application/merge-patch+json',
    );
    expect(patch.status).toBe(400);
    expect(patch.json.details.causes[0].field).toBe('fieldManager');
    const current = (await call(s.address, 'GET', '/api/v1/workspaces/kept')).json;
    const put = await call(s.address, 'PUT', `/api/v1/workspaces/kept${q}`, JSON.stringify(current));
    expect(put.status).toBe(400);
    // 128 characters is the limit, and it is accepted.
    const ok = await call(
      s.address,
      'POST',
      `/api/v1/apply?fieldManager=${'m'.repeat(128)}`,
      manifest('applied'),
      'application/yaml',
    );
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);

    const names = (await call(s.address, 'GET', '/api/v1/workspaces')).json.items.map(
      (o: { metadata: { name: string } }) => o.metadata.name,
    );
    expect(names.sort()).toEqual(['applied', 'kept']);
    const kept = (await call(s.address, 'GET', '/api/v1/workspaces/kept')).json;
    expect(kept.metadata.labels).toBeUndefined();

    await s.proc.stop('SIGTERM');
    s = await serveOn(dataDir);
    const again = (await call(s.address, 'GET', '/api/v1/workspaces/applied')).json;
    expect(again.metadata.managedFields.map((e: { manager: string }) => e.manager)).toContain('m'.repeat(128));
    await s.proc.stop('SIGTERM');
  }, 90_000);
});

describe('a corrupt Events file', () => {
  it('is set aside with a warning naming it, and serve starts with its objects', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tp-store-accepts-'));
    dirs.push(dataDir);
    let s = await serveOn(dataDir);
    expect((await call(s.address, 'POST', '/api/v1/workspaces', manifest('kept'))).status).toBe(201);
    await s.proc.stop('SIGTERM');
    await writeFile(join(dataDir, 'store.events.json.journal'), '{"rv":1,"put":[{"kind":"Event"}]}\n');
    s = await serveOn(dataDir);
    const aside = (await readdir(dataDir)).filter((f) => f.startsWith('store.events.json.journal.corrupt-'));
    expect(aside).toHaveLength(1);
    const warning = s.proc.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level?: number; msg?: string })
      .find((r) => r.msg?.includes('Events file could not be loaded'));
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toContain(join(dataDir, aside[0]!));
    expect((await call(s.address, 'GET', '/api/v1/workspaces/kept')).status).toBe(200);
    await s.proc.stop('SIGTERM');
  }, 60_000);
});
