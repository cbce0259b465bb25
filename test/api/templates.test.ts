// The API side of image templates and editor settings: ImageTemplate is a resource like the
// others (validated, named in 422s), spec.image may name one (and nothing unknown), its build
// log is served plain, and the editor settings are read and replaced as one document.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EditorSettings, imageTemplateAdmission, SettingsFile } from '../../store/index.js';
import { startTestServer, type TestServer } from './helpers.js';

const template = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'tidepool/v1',
  kind: 'ImageTemplate',
  metadata: { name },
  spec,
});
const ws = (name: string, image: string) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name },
  spec: { image },
});

describe('image templates and settings through the API', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
    t.store.admission = imageTemplateAdmission(['default', 'minimal']);
  });
  afterEach(async () => {
    await t.close();
  });

  it('an ImageTemplate is created with its defaults, and a bad package name is a 422 naming the field', async () => {
    const ok = await t.req('POST', '/api/v1/imagetemplates', {
      body: template('py', { debianPackages: ['python3-venv'] }),
    });
    expect(ok.status).toBe(201);
    expect(ok.json.spec).toEqual({ base: 'default', debianPackages: ['python3-venv'], npmPackages: [] });
    const bad = await t.req('POST', '/api/v1/imagetemplates', {
      body: template('bad', { debianPackages: ['Python3; rm -rf /'], npmPackages: ['--registry=http://x'] }),
    });
    expect(bad.status).toBe(422);
    const fields = bad.json.details.causes.map((c: { field: string }) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.debianPackages[0]', 'spec.npmPackages[0]']));
  });

  it('spec.image may name an ImageTemplate (even in the same apply), never an unknown name; spec.base likewise', async () => {
    const unknown = await t.req('POST', '/api/v1/workspaces', { body: ws('a', 'py') });
    expect(unknown.status).toBe(422);
    expect(unknown.json.details.causes[0]).toMatchObject({ field: 'spec.image', reason: 'FieldValueNotSupported' });
    expect(unknown.json.details.causes[0].message).toMatch(/or the name of an ImageTemplate/);
    const yaml = [template('py'), ws('a', 'py')].map((o) => JSON.stringify(o)).join('\n---\n');
    const applied = await t.req('POST', '/api/v1/apply?fieldManager=test', { body: yaml, type: 'application/yaml' });
    expect(applied.status).toBe(200);
    expect(t.store.get('Workspace', 'a')?.spec.image).toBe('py');
    const base = await t.req('POST', '/api/v1/imagetemplates', { body: template('node', { base: 'nope' }) });
    expect(base.status).toBe(422);
    expect(base.json.details.causes[0].field).toBe('spec.base');
    expect((await t.req('POST', '/api/v1/imagetemplates', { body: template('node', { base: 'py' }) })).status).toBe(
      201,
    );
  });

  it("serves a template's last build log, with tailLines", async () => {
    await t.close();
    const dir = await mkdtemp(join(tmpdir(), 'tp-api-logs-'));
    t = await startTestServer({ logsDir: join(dir, '.logs') });
    await t.req('POST', '/api/v1/imagetemplates', { body: template('py') });
    expect((await t.req('GET', '/api/v1/imagetemplates/py/log')).text).toBe('');
    await mkdir(join(dir, '.build-logs'), { recursive: true });
    await writeFile(
      join(dir, '.build-logs', 'py.log'),
      '2026-12-06T10:00:00.000Z build of image template py\n2026-12-06T10:00:01.000Z $ apt-get update\n',
    );
    const all = await t.req('GET', '/api/v1/imagetemplates/py/log');
    expect(all.text.split('\n')).toHaveLength(3);
    expect((await t.req('GET', '/api/v1/imagetemplates/py/log?tailLines=1')).text).toBe(
      '2026-12-06T10:00:01.000Z $ apt-get update\n',
    );
    expect((await t.req('GET', '/api/v1/imagetemplates/nope/log')).status).toBe(404);
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and replaces the editor settings; a bad document is a 422', async () => {
    await t.close();
    const dir = await mkdtemp(join(tmpdir(), 'tp-api-settings-'));
    const settings = new SettingsFile(dir);
    t = await startTestServer({ settings: new EditorSettings(dir) });
    expect((await t.req('GET', '/api/v1/settings')).json).toEqual({
      apiVersion: 'tidepool/v1',
      kind: 'EditorSettings',
      files: {},
      extensions: [],
    });
    const doc = {
      apiVersion: 'tidepool/v1',
      kind: 'EditorSettings',
      files: { 'settings.json': { content: '{"a":1}', mtime: 5 } },
      extensions: ['vscodevim.vim'],
    };
    expect((await t.req('PUT', '/api/v1/settings', { body: doc })).status).toBe(200);
    expect(await settings.read()).toMatchObject({ ...doc, source: 'import' });
    const bad = await t.req('PUT', '/api/v1/settings', {
      body: { ...doc, files: { '../../etc/passwd': { content: 'x', mtime: 1 } } },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes[0].field).toMatch(/^files/);
    await rm(dir, { recursive: true, force: true });
  });
});
