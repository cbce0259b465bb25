// @vitest-environment happy-dom
// The elements and rules of managing workspaces (create, delete, ports, the workspace page,
// truthful controls), in happy-dom with fakes for the API calls. The real flows in Chromium
// against a real server are in manage.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import '../../web/src/elements/tp-app.js';
import { ApiError, createWorkspace, workspaceObject } from '../../web/src/api.js';
import { causesByField, fieldOfCause } from '../../web/src/elements/tp-create-dialog.js';
import { filterEvents } from '../../web/src/elements/tp-events.js';
import { manifestOf } from '../../web/src/elements/tp-workspace-page.js';
import { parseRoute, workspacePath } from '../../web/src/router.js';
import { humanStatus, ideState, plainMessage, powerPending, syncOwner } from '../../web/src/status.js';
import { toYaml } from '../../web/src/yaml.js';
import { MAX_PORTS_PER_WORKSPACE } from '../../specs/port.js';
import { PORT_LIMIT } from '../../web/src/elements/tp-ports.js';
import { $, $$, appStores, event, mount, port, settle, text, workspace } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
});

const tick = () => new Promise((r) => setTimeout(r, 0));
const ready = ['True', 'Running', 'The IDE is at /workspace/x/.'] as [string, string, string];
const invalid = (field: string, message: string) =>
  new ApiError(`Invalid: x is invalid: ${field}: ${message}`, 422, 'Invalid', [
    { field, reason: 'FieldValueInvalid', message },
  ]);

function sync(name: string, path: string) {
  return {
    apiVersion: 'tidepool/v1' as const,
    kind: 'Sync' as const,
    metadata: { name },
    spec: { path, intervalSeconds: 60, allowEmptyPrune: false },
  };
}
function owned(name: string, annotations: Record<string, string>) {
  const ws = workspace(name, { ready });
  return { ...ws, metadata: { ...ws.metadata, annotations } };
}

describe('truthful controls', () => {
  it('the IDE opens only while Running and Ready; otherwise it says why', () => {
    expect(ideState(workspace('a', { ready }))).toEqual({ open: true });
    expect(ideState(workspace('a', { ready: ['False', 'WaitingForRoute', 'w'] }))).toEqual({
      open: false,
      why: 'starting',
    });
    expect(ideState(workspace('a', { phase: 'Stopped', running: false }))).toEqual({ open: false, why: 'stopped' });
    expect(ideState(workspace('a', { phase: 'Starting' }))).toEqual({ open: false, why: 'starting' });
    expect(ideState(workspace('a', { phase: 'Failed' }))).toEqual({ open: false, why: 'failed' });
    const deleting = workspace('a', { ready });
    expect(
      ideState({ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } }),
    ).toEqual({ open: false, why: 'being deleted' });
  });

  it('Start and Stop are pending until the phase follows spec.running, not in Pending or Failed', () => {
    expect(powerPending(true, 'Starting')).toBe(true);
    expect(powerPending(true, 'Stopped')).toBe(true);
    expect(powerPending(true, 'Running')).toBe(false);
    expect(powerPending(false, 'Running')).toBe(true);
    expect(powerPending(false, 'Stopping')).toBe(true);
    expect(powerPending(false, 'Stopped')).toBe(false);
    expect(powerPending(true, 'Pending')).toBe(false);
    expect(powerPending(true, 'Failed')).toBe(false);
  });

  it('the power button shows "Starting…" until the workspace runs', async () => {
    const action = vi.fn(async () => undefined);
    const el = await mount('tp-power-button', { name: 'alice', running: false, phase: 'Stopped', action });
    const button = $(el, 'button') as HTMLButtonElement;
    expect(text(button)).toBe('Start');
    button.click();
    await tick();
    // The API took it; the controller has not started it yet.
    el.running = true;
    el.phase = 'Starting';
    await settle(el);
    expect(text(button)).toBe('Starting…');
    expect(button.getAttribute('aria-label')).toBe('Starting alice');
    expect(button.disabled).toBe(true);
    el.phase = 'Running';
    await settle(el);
    expect(text(button)).toBe('Stop');
    expect(button.disabled).toBe(false);
  });

  it('speaks to a person, not in API fields', () => {
    expect(plainMessage('The VM is stopped (spec.running is false); set spec.running to true to start it.')).toBe(
      'The VM is stopped; Start runs it again.',
    );
    expect(
      humanStatus(
        workspace('a', {
          phase: 'Stopped',
          running: false,
          ready: [
            'False',
            'Stopped',
            'The VM is stopped (spec.running is false); set spec.running to true to start it.',
          ],
        }),
      ),
    ).not.toContain('spec.');
    expect(humanStatus(workspace('a', { phase: 'Creating', ready: ['False', 'Creating', 'Creating the VM'] }))).toBe(
      'Creating it from image “default”…',
    );
    expect(
      humanStatus(
        workspace('a', {
          phase: 'Failed',
          ready: ['False', 'RuntimeError', 'The incus runtime failed to start the VM: boom. Retrying with backoff.'],
        }),
      ),
    ).toContain('boom');
    expect(humanStatus(workspace('a', { ready }))).toBe('Ready: the IDE answers.');
  });

  it('names the sync folder and file that declare a workspace', () => {
    const syncs = [sync('team', '/srv/team')];
    expect(syncOwner(workspace('a'), syncs)).toBeUndefined();
    expect(syncOwner(owned('a', { 'tidepool/sync': 'team' }), syncs)).toEqual({ sync: 'team', folder: '/srv/team' });
    expect(syncOwner(owned('a', { 'tidepool/sync': 'team', 'tidepool/sync-file': 'ws/a.yaml' }), syncs)).toEqual({
      sync: 'team',
      folder: '/srv/team',
      file: 'ws/a.yaml',
    });
    expect(syncOwner(owned('a', { 'tidepool/sync': 'gone' }), syncs)).toEqual({ sync: 'gone' });
  });
});

describe('router', () => {
  it('has a URL per workspace', () => {
    expect(parseRoute('/app/')).toEqual({ view: 'list' });
    expect(parseRoute('/app/workspaces/alice')).toEqual({ view: 'workspace', name: 'alice' });
    expect(parseRoute('/app/workspaces/alice/')).toEqual({ view: 'workspace', name: 'alice' });
    expect(parseRoute('/app/workspaces/%E0%A4%A')).toEqual({ view: 'list' });
    expect(workspacePath('alice')).toBe('/app/workspaces/alice');
  });
});

describe('create', () => {
  it('posts a running Workspace with what the form says', async () => {
    const fetch = vi.fn(
      async (_u: string, _i?: RequestInit) => new Response(JSON.stringify(workspace('carol')), { status: 201 }),
    );
    await createWorkspace(
      { name: 'carol', image: 'minimal', cpu: 1, memory: '1Gi', fromWorkspace: 'alice' },
      fetch as never,
    );
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/v1/workspaces');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({
      apiVersion: 'tidepool/v1',
      kind: 'Workspace',
      metadata: { name: 'carol' },
      spec: {
        image: 'minimal',
        running: true,
        resources: { cpu: 1, memory: '1Gi' },
        source: { fromWorkspace: 'alice' },
      },
    });
    expect(workspaceObject({ name: 'x', image: 'default', cpu: 2, memory: '4Gi' }).spec as object).not.toHaveProperty(
      'source',
    );
  });

  it('puts each Status cause next to the field it names', () => {
    expect(fieldOfCause('metadata.name')).toBe('name');
    expect(fieldOfCause('spec.resources.memory')).toBe('memory');
    expect(fieldOfCause('spec.source.fromWorkspace')).toBe('source');
    expect(fieldOfCause('spec.other')).toBeUndefined();
    expect(causesByField(invalid('spec.resources.cpu', 'must be <= 64'))).toEqual({
      fields: { cpu: 'must be <= 64' },
      form: '',
    });
    expect(causesByField(new ApiError('AlreadyExists: workspaces "a" already exists', 409, 'AlreadyExists'))).toEqual({
      fields: {},
      form: 'AlreadyExists: workspaces "a" already exists',
    });
  });

  it('the form offers the server’s templates and the other workspaces, and shows a 422 next to Name', async () => {
    const create = vi.fn(async () => {
      throw invalid('metadata.name', 'Invalid value: "Bad": must be a DNS label');
    });
    const el = await mount('tp-create-dialog', {
      templates: ['default', 'minimal'],
      workspaces: ['bob', 'alice'],
      create,
    });
    el.open();
    await settle(el);
    expect($$(el, '#image option').map((o) => o.textContent)).toEqual(['default', 'minimal']);
    expect($$(el, '#source option').map((o) => (o as HTMLOptionElement).value)).toEqual(['', 'alice', 'bob']);
    ($(el, '#name') as HTMLInputElement).value = 'Bad';
    ($(el, 'form') as HTMLFormElement).requestSubmit();
    await tick();
    await settle(el);
    expect(create).toHaveBeenCalledWith({ name: 'Bad', image: 'default', cpu: 2, memory: '4Gi' });
    expect(text($(el, '#name-error'))).toBe('Invalid value: "Bad": must be a DNS label');
    expect($(el, '#name')?.getAttribute('aria-invalid')).toBe('true');
    expect($(el, '#name')?.getAttribute('aria-describedby')).toContain('name-error');
    expect(text($(el, '.form-error'))).toBe('');
  });
});

describe('delete', () => {
  it('asks for the name, and warns that a sync folder will make it again', async () => {
    const deleteWorkspace = vi.fn(async () => undefined);
    const el = await mount('tp-delete-dialog', { deleteWorkspace });
    const deleted = vi.fn();
    el.addEventListener('deleted', deleted);
    await el.open('alice', { sync: 'team', folder: '/srv/team', file: 'ws/alice.yaml' });
    await settle(el);
    expect(text($(el, '#delete-what'))).toContain('deleted for good');
    expect(text($(el, '#delete-sync'))).toContain('the sync folder “team” (/srv/team), file ws/alice.yaml');
    expect(text($(el, '#delete-sync'))).toContain('create it again, with an empty home');
    const submit = $(el, 'button[type=submit]') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    const input = $(el, '#confirm') as HTMLInputElement;
    input.value = 'alic';
    input.dispatchEvent(new InputEvent('input'));
    await settle(el);
    ($(el, 'form') as HTMLFormElement).requestSubmit();
    await tick();
    expect(deleteWorkspace).not.toHaveBeenCalled();
    input.value = 'alice';
    input.dispatchEvent(new InputEvent('input'));
    await settle(el);
    expect(submit.disabled).toBe(false);
    ($(el, 'form') as HTMLFormElement).requestSubmit();
    await tick();
    expect(deleteWorkspace).toHaveBeenCalledWith('alice');
    expect(deleted).toHaveBeenCalledTimes(1);
  });

  it('does not warn about a sync for a workspace no sync declares', async () => {
    const el = await mount('tp-delete-dialog', {});
    await el.open('bob', undefined);
    await settle(el);
    expect($(el, '#delete-sync')).toBeNull();
  });
});

describe('ports', () => {
  const ws = workspace('alice', { ready, ip: '10.0.0.5' });
  const routed = (ws: string, n: number) => ({
    ...port(ws, n),
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True' as const,
          reason: 'Routed',
          message: 'm',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
      ],
    },
  });

  it('lists this workspace’s ports with whether something answers, adds and removes', async () => {
    const actions = {
      add: vi.fn(async () => undefined),
      remove: vi.fn(async () => undefined),
      probe: vi.fn(async (name: string) => ({
        answering: name === 'alice-3000',
        message: name === 'alice-3000' ? 'ok' : 'Nothing answers on 10.0.0.5:5173',
      })),
    };
    const el = await mount('tp-ports', {
      workspace: ws,
      ports: [routed('alice', 5173), routed('alice', 3000), routed('bob', 4000)],
      config: { workspaceBaseUrl: 'http://h:8081' },
      actions,
    });
    await tick();
    await settle(el);
    expect($$(el, 'li').map((l) => l.getAttribute('data-port'))).toEqual(['3000', '5173']);
    expect(actions.probe.mock.calls.map((c) => c[0]).sort()).toEqual(['alice-3000', 'alice-5173']);
    expect(text($(el, 'li[data-port="3000"] tp-badge'))).toBe('Answers');
    expect(text($(el, 'li[data-port="5173"] tp-badge'))).toBe('No answer');
    expect(text($(el, 'li[data-port="5173"] .why'))).toBe('Nothing answers on 10.0.0.5:5173');
    expect($(el, 'li[data-port="3000"] a')?.getAttribute('href')).toBe('http://h:8081/workspace/alice/port/3000/');
    expect(text($(el, '#port-limit'))).toBe('2 of 5');

    ($(el, '#new-port') as HTMLInputElement).value = '8000';
    ($(el, 'form') as HTMLFormElement).requestSubmit();
    await tick();
    expect(actions.add).toHaveBeenCalledWith('alice', 8000);
    ($(el, 'button[aria-label="Remove port 3000"]') as HTMLButtonElement).click();
    expect(actions.remove).toHaveBeenCalledWith('alice-3000');
  });

  it('shows the API’s refusal next to the field, and stops at the limit of 5', async () => {
    expect(PORT_LIMIT).toBe(MAX_PORTS_PER_WORKSPACE);
    const actions = {
      add: vi.fn(async () => Promise.reject(invalid('spec.port', 'must be between 1024 and 65535'))),
      remove: vi.fn(),
      probe: vi.fn(async () => ({ answering: false, message: '' })),
    };
    const el = await mount('tp-ports', { workspace: ws, ports: [], actions });
    ($(el, '#new-port') as HTMLInputElement).value = '80';
    ($(el, 'form') as HTMLFormElement).requestSubmit();
    await tick();
    await settle(el);
    expect(text($(el, '#port-error'))).toBe('must be between 1024 and 65535');
    el.ports = [1, 2, 3, 4, 5].map((i) => routed('alice', 3000 + i));
    await settle(el);
    expect(($(el, 'button[type=submit]') as HTMLButtonElement).disabled).toBe(true);
    expect(text($(el, '#port-limit'))).toBe('5 of 5: remove one to add another');
  });

  it('links nothing while the workspace is stopped', async () => {
    const stopped = workspace('alice', { phase: 'Stopped', running: false });
    const el = await mount('tp-ports', { workspace: stopped, ports: [port('alice', 3000)] });
    expect($(el, 'li a')).toBeNull();
    expect(text($(el, 'li .port'))).toBe(':3000');
  });
});

describe('events', () => {
  it('filters by workspace (its ports count) and by type', () => {
    const about = (name: string, kind: string, who: string, type: 'Normal' | 'Warning') => ({
      ...event(name, type, '2025-01-01T00:00:00Z'),
      regarding: { kind, name: who },
    });
    const events = [
      about('e1', 'Workspace', 'alice', 'Normal'),
      about('e2', 'Port', 'alice-3000', 'Warning'),
      about('e3', 'Workspace', 'bob', 'Warning'),
      about('e4', 'Sync', 'team', 'Normal'),
    ];
    const names = (f: { workspace: string; type: string }) =>
      filterEvents(events, f, [port('alice', 3000)])
        .map((e) => e.metadata.name)
        .sort();
    expect(names({ workspace: 'alice', type: '' })).toEqual(['e1', 'e2']);
    expect(names({ workspace: '', type: 'Warning' })).toEqual(['e2', 'e3']);
    expect(names({ workspace: 'alice', type: 'Warning' })).toEqual(['e2']);
    expect(names({ workspace: '', type: '' })).toHaveLength(4);
  });

  it('says how many it shows of how many', async () => {
    const events = Array.from({ length: 8 }, (_, i) =>
      event(`e${i}`, 'Normal', new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString()),
    );
    const el = await mount('tp-events', { loaded: true, limit: 3, events });
    expect(text($(el, '.shown'))).toBe('Latest 3 of 8');
    expect($$(el, 'li.event')).toHaveLength(3);
  });
});

describe('workspace page', () => {
  it('shows phase, conditions, details, owner and YAML; says so when there is no such workspace', async () => {
    const ws = owned('alice', { 'tidepool/sync': 'team', 'tidepool/sync-file': 'alice.yaml' });
    const el = await mount('tp-workspace-page', {
      name: 'alice',
      workspace: ws as never,
      loaded: true,
      syncs: [sync('team', '/srv/team')],
      config: { workspaceBaseUrl: 'http://h:8081' },
    });
    expect(text($(el, 'h2'))).toBe('alice');
    expect(text($(el, '.head tp-badge'))).toBe('Running');
    expect($(el, '.head a.ide')?.getAttribute('href')).toBe('http://h:8081/workspace/alice/');
    expect(text($(el, 'tr[data-type="Ready"]'))).toContain('Running');
    expect(text($(el, 'dd.owner'))).toBe('The sync folder “team” (/srv/team), file alice.yaml');
    expect(parse(($(el, 'pre') as HTMLElement).textContent ?? '')).toEqual(manifestOf(ws as never));

    const missing = await mount('tp-workspace-page', { name: 'ghost', loaded: true });
    expect(text(missing)).toContain('There is no workspace named ghost');
  });
});

describe('yaml', () => {
  it('writes what the yaml package reads back as the same object', () => {
    const obj = {
      apiVersion: 'tidepool/v1',
      metadata: {
        name: 'a',
        labels: { 'tidepool.dev/team': 'web' },
        annotations: { note: 'a: b # c', empty: '', yes: 'yes', num: '0123' },
        finalizers: ['tidepool/vm'],
      },
      spec: { running: true, resources: { cpu: 2, memory: '4Gi' }, list: [], map: {} },
      status: { conditions: [{ type: 'Ready', status: 'True', message: 'line 1\nline 2 "quoted"' }], nothing: null },
    };
    expect(parse(toYaml(obj))).toEqual(obj);
  });
});

describe('tp-app', () => {
  it('shows the workspace page for /app/workspaces/NAME, and New workspace on the list', async () => {
    const stores = await appStores();
    stores.workspaces.apply(workspace('alice', { ready }));
    const el = await mount('tp-app', {
      stores: stores as never,
      config: { workspaceBaseUrl: 'http://h:8081' },
      route: { view: 'list' },
    });
    expect(text($(el, 'button.new'))).toBe('New workspace');
    expect($(el, 'tp-workspace-page')).toBeNull();
    expect($(el, 'tp-workspaces', 'button.delete')?.getAttribute('aria-label')).toBe('Delete alice');
    el.route = { view: 'workspace', name: 'alice' };
    await settle(el);
    expect(text($(el, 'tp-workspace-page', 'h2'))).toBe('alice');
    expect($(el, 'tp-workspaces')).toBeNull();
  });
});

describe('last access on the workspace page', () => {
  const lastAccess = (el: Element) => {
    const dts = $$(el, 'dt');
    const i = dts.findIndex((d) => text(d) === 'Last access');
    return text($$(el, 'dd')[i]!);
  };

  it('says "never opened" when the server records access and there is none yet, and "not reported" when it does not record it', async () => {
    const ws = workspace('fresh', { ready });
    const recorded = await mount('tp-workspace-page', {
      name: 'fresh',
      workspace: ws as never,
      loaded: true,
      config: { workspaceBaseUrl: 'http://h:8081', reportsAccess: true },
    });
    expect(lastAccess(recorded)).toBe('never opened');
    const unrecorded = await mount('tp-workspace-page', {
      name: 'fresh',
      workspace: ws as never,
      loaded: true,
      config: { workspaceBaseUrl: 'http://h:8081', reportsAccess: false },
    });
    expect(lastAccess(unrecorded)).toBe('not reported by this server');
  });

  it('config.json tells whether the server records access', async () => {
    const { loadConfig } = await import('../../web/src/api.js');
    const answer = (body: unknown) => (async () => new Response(JSON.stringify(body))) as unknown as typeof fetch;
    const loc = { protocol: 'http:', hostname: 'h' };
    expect((await loadConfig('/c', answer({ workspacePort: 8081, reportsAccess: true }), loc)).reportsAccess).toBe(
      true,
    );
    expect((await loadConfig('/c', answer({ workspacePort: 8081 }), loc)).reportsAccess).toBeUndefined();
  });
});
