// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../web/src/elements/tp-app.js';
import { phaseTone } from '../../web/src/elements/tp-badge.js';
import { newestFirst } from '../../web/src/elements/tp-events.js';
import { causeLocation, syncState } from '../../web/src/elements/tp-syncs.js';
import { tickListenerCount } from '../../web/src/clock.js';
import { formatAge } from '../../web/src/time.js';
import type { StatusCause } from '../../web/src/api.js';
import { $, $$, appStores, event, mount, port, settle, text, workspace } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('tp-badge', () => {
  it('shows the word and colours it by tone', async () => {
    const el = await mount('tp-badge', { label: 'Running', tone: phaseTone('Running') });
    expect(text(el)).toBe('Running');
    expect(el.getAttribute('tone')).toBe('ok');
  });

  it('maps every phase to a tone', () => {
    expect(phaseTone('Failed')).toBe('error');
    expect(phaseTone('Starting')).toBe('progress');
    expect(phaseTone('Stopping')).toBe('progress');
    expect(phaseTone('Stopped')).toBe('neutral');
    expect(phaseTone('Deleting')).toBe('warn');
    expect(phaseTone(undefined)).toBe('neutral');
  });
});

describe('formatAge', () => {
  it('is compact, more precise while young', () => {
    expect(formatAge(-5000)).toBe('0s');
    expect(formatAge(42_000)).toBe('42s');
    expect(formatAge(119_000)).toBe('119s');
    expect(formatAge(185_000)).toBe('3m5s');
    expect(formatAge(12 * 60_000)).toBe('12m');
    expect(formatAge(170 * 60_000)).toBe('170m');
    expect(formatAge(185 * 60_000)).toBe('3h5m');
    expect(formatAge((4 * 60 + 5) * 60_000)).toBe('4h5m');
    expect(formatAge(20 * 3600_000)).toBe('20h');
    expect(formatAge((3 * 24 + 4) * 3600_000)).toBe('3d4h');
    expect(formatAge(41 * 86400_000)).toBe('41d');
    expect(formatAge(800 * 86400_000)).toBe('2y');
  });
});

describe('tp-age', () => {
  it('ticks on one shared timer that stops when nobody shows an age', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse('2025-01-01T00:01:00Z'));
    const before = tickListenerCount();
    const a = await mount('tp-age', { datetime: '2025-01-01T00:00:00Z' });
    const b = await mount('tp-age', { datetime: '2025-01-01T00:00:30Z' });
    expect(tickListenerCount()).toBe(before + 2);
    expect(text(a)).toBe('60s');
    expect(text(b)).toBe('30s');
    expect($(a, 'time')?.getAttribute('datetime')).toBe('2025-01-01T00:00:00Z');

    vi.advanceTimersByTime(5000);
    await settle(a);
    await settle(b);
    expect(text(a)).toBe('65s');
    expect(text(b)).toBe('35s');

    a.remove();
    b.remove();
    expect(tickListenerCount()).toBe(before);
  });

  it('shows a dash for a missing timestamp', async () => {
    const el = await mount('tp-age', { datetime: '' });
    expect(text(el)).toBe('—');
  });
});

describe('tp-time', () => {
  it("converts UTC to the given (else the browser's) time zone and locale", async () => {
    const iso = '2024-03-01T23:30:00Z';
    const tokyo = await mount('tp-time', { datetime: iso, locale: 'en-US', timeZone: 'Asia/Tokyo' });
    expect(text(tokyo)).toContain('Mar 2');
    expect(text(tokyo)).toMatch(/08:30:00/);
    const utc = await mount('tp-time', { datetime: iso, locale: 'en-GB', timeZone: 'UTC' });
    expect(text(utc)).toContain('1 Mar');
    expect(text(utc)).toMatch(/23:30:00/);
    const local = await mount('tp-time', { datetime: iso });
    const expected = new Intl.DateTimeFormat(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).format(Date.parse(iso));
    expect(text(local)).toBe(expected);
    expect($(local, 'time')?.getAttribute('title')).toBeTruthy();
  });
});

describe('tp-connection', () => {
  it('says live, or that it is reconnecting', async () => {
    const el = await mount('tp-connection', { state: 'live' });
    expect(text(el)).toBe('Live');
    expect($(el, '[role=status]')).not.toBeNull();
    el.state = 'reconnecting';
    await settle(el);
    expect(text(el)).toBe('Reconnecting…');
    expect(el.getAttribute('state')).toBe('reconnecting');
  });
});

describe('tp-power-button', () => {
  it('calls the action with the opposite of spec.running, disabled while in flight', async () => {
    let finish!: () => void;
    const action = vi.fn((_name: string, _running: boolean) => new Promise<void>((r) => (finish = r)));
    const el = await mount('tp-power-button', { name: 'alice', running: true, action });
    const button = $(el, 'button') as HTMLButtonElement;
    expect(text(button)).toBe('Stop');
    expect(button.getAttribute('aria-label')).toBe('Stop alice');
    expect(button.disabled).toBe(false);

    button.click();
    await settle(el);
    expect(action).toHaveBeenCalledWith('alice', false);
    expect(button.disabled).toBe(true);
    expect(text(button)).toBe('Stopping…');
    button.click();
    expect(action).toHaveBeenCalledTimes(1);

    finish();
    await new Promise((r) => setTimeout(r, 0));
    await settle(el);
    expect(button.disabled).toBe(false);

    el.running = false;
    await settle(el);
    expect(text(button)).toBe('Start');
  });

  it("shows the API's error and lets the user try again", async () => {
    const action = vi
      .fn()
      .mockRejectedValueOnce(new Error('Conflict: the object has been modified'))
      .mockResolvedValueOnce(undefined);
    const el = await mount('tp-power-button', { name: 'bob', running: false, action });
    const button = $(el, 'button') as HTMLButtonElement;
    expect(text(button)).toBe('Start');
    button.click();
    await new Promise((r) => setTimeout(r, 0));
    await settle(el);
    expect(text($(el, '[role=alert]'))).toBe('Conflict: the object has been modified');
    expect(button.disabled).toBe(false);
    expect(action).toHaveBeenCalledWith('bob', true);

    button.click();
    await new Promise((r) => setTimeout(r, 0));
    await settle(el);
    expect(text($(el, '[role=alert]'))).toBe('');
  });

  it('is disabled without an action, or when told (a Workspace being deleted)', async () => {
    const el = await mount('tp-power-button', { name: 'x', running: true });
    expect(($(el, 'button') as HTMLButtonElement).disabled).toBe(true);
    const action = vi.fn(async () => undefined);
    const deleting = await mount('tp-power-button', { name: 'y', running: true, action, disabled: true });
    const button = $(deleting, 'button') as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    button.click();
    expect(action).not.toHaveBeenCalled();
  });
});

describe('tp-workspaces', () => {
  const config = { workspaceBaseUrl: 'http://example.test:8081/' };

  it('shows one row per workspace, by name, with phase, Ready, IP, links and power', async () => {
    const el = await mount('tp-workspaces', {
      loaded: true,
      config,
      action: async () => undefined,
      workspaces: [
        workspace('zed', { running: false, phase: 'Stopped', ready: ['False', 'Stopped', 'spec.running is false'] }),
        workspace('alice', { ip: '10.20.0.5', ready: ['True', 'Running', 'code-server answers on 8080'] }),
      ],
      ports: [port('alice', 5173), port('alice', 3000), port('zed', 4000)],
    });
    const rows = $$(el, 'tbody tr');
    expect(rows.map((r) => r.getAttribute('data-name'))).toEqual(['alice', 'zed']);
    const [alice, zed] = rows as [Element, Element];

    expect(text(alice.querySelector('td.phase'))).toBe('Running');
    expect(alice.querySelector('tp-badge')?.getAttribute('tone')).toBe('ok');
    // In words for a person, not the controller's reason.
    expect(text(alice.querySelector('td.ready .message'))).toBe('Ready: the IDE answers.');
    expect(text(zed.querySelector('td.ready .message'))).toBe(
      'Stopped. Its disk and home are kept; Start runs it again.',
    );
    expect(text(alice.querySelector('td.ip'))).toContain('10.20.0.5');
    expect(text(zed.querySelector('td.ip'))).toContain('—');
    expect(zed.querySelector('tp-badge')?.getAttribute('tone')).toBe('neutral');

    const ide = alice.querySelector('a.ide') as HTMLAnchorElement;
    expect(ide.getAttribute('href')).toBe('http://example.test:8081/workspace/alice/');
    expect(ide.getAttribute('rel')).toContain('noopener');
    const ports = [...alice.querySelectorAll('a.port')].map((a) => a.getAttribute('href'));
    expect(ports).toEqual([
      'http://example.test:8081/workspace/alice/port/3000/',
      'http://example.test:8081/workspace/alice/port/5173/',
    ]);
    expect(text(alice.querySelector('a.port'))).toBe('Port :3000');
    // A stopped workspace has no IDE or port link, and says why.
    expect(zed.querySelector('a.ide')).toBeNull();
    expect(text(zed.querySelector('.ide-off'))).toBe('IDE: stopped');
    expect(zed.querySelectorAll('a.port')).toHaveLength(0);
    expect(text(zed.querySelector('.port-off'))).toBe('Port :4000');
    expect(alice.querySelector('a.name')?.getAttribute('href')).toBe('/app/workspaces/alice');

    const aliceButton = alice.querySelector('tp-power-button')!;
    expect(aliceButton.running).toBe(true);
    expect(text($(aliceButton, 'button'))).toBe('Stop');
    expect(text($(zed.querySelector('tp-power-button')!, 'button'))).toBe('Start');
  });

  it('follows changes without losing the row', async () => {
    const el = await mount('tp-workspaces', { loaded: true, config, workspaces: [workspace('alice')] });
    const row = $(el, 'tbody tr');
    el.workspaces = [workspace('alice', { running: false, phase: 'Stopping' })];
    await settle(el);
    expect($(el, 'tbody tr')).toBe(row);
    expect(text(row?.querySelector('td.phase'))).toBe('Stopping');
    expect(row?.querySelector('tp-badge')?.getAttribute('tone')).toBe('progress');
  });

  it('says Loading before the first list, and how to add one after', async () => {
    const el = await mount('tp-workspaces', { config });
    expect(text(el)).toBe('Loading…');
    el.loaded = true;
    await settle(el);
    expect(text(el)).toContain('No workspaces yet');
  });
});

describe('tp-events', () => {
  it('shows the newest first and marks Warnings', async () => {
    const el = await mount('tp-events', {
      loaded: true,
      events: [
        event('e1', 'Normal', '2025-01-01T10:00:00Z', 'Created', 'created the instance'),
        event('e3', 'Warning', '2025-01-01T10:05:00Z', 'StartFailed', 'no space left', 3),
        event('e2', 'Normal', '2025-01-01T10:02:00Z', 'Started', 'started'),
      ],
    });
    const rows = $$(el, 'li.event');
    expect(rows.map((r) => r.getAttribute('data-name'))).toEqual(['e3', 'e2', 'e1']);
    expect(rows[0]!.classList.contains('warning')).toBe(true);
    expect(rows[1]!.classList.contains('warning')).toBe(false);
    expect(rows[0]!.querySelector('tp-badge')?.getAttribute('tone')).toBe('warn');
    expect(text(rows[0]!.querySelector('.note'))).toBe('no space left ×3');
    expect(text(rows[0]!.querySelector('.object'))).toBe('Workspace/alice');
    expect(text(rows[0]!.querySelector('.reason'))).toBe('StartFailed');
  });

  it('shows at most limit events', async () => {
    const events = Array.from({ length: 8 }, (_, i) =>
      event(`e${i}`, 'Normal', new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString()),
    );
    const el = await mount('tp-events', { loaded: true, limit: 3, events });
    expect($$(el, 'li.event').map((r) => r.getAttribute('data-name'))).toEqual(['e7', 'e6', 'e5']);
    expect(newestFirst(events)[0]!.metadata.name).toBe('e7');
  });
});

describe('tp-syncs', () => {
  const sync = (name: string, ready: 'True' | 'False', errors: StatusCause[] = []) => ({
    apiVersion: 'tidepool/v1' as const,
    kind: 'Sync' as const,
    metadata: { name },
    spec: { path: `/srv/${name}`, intervalSeconds: 60, allowEmptyPrune: false },
    status: {
      lastAppliedTime: '2025-01-01T00:00:00Z',
      lastAppliedRevision: 'sha256:0123456789abcdef',
      errors,
      conditions: [
        {
          type: 'Ready',
          status: ready,
          reason: ready === 'True' ? 'Applied' : 'InvalidManifest',
          message: ready === 'True' ? 'applied' : '1 error',
          lastTransitionTime: '2025-01-01T00:00:00Z',
        },
        ...(ready === 'False'
          ? [
              {
                type: 'Stalled',
                status: 'True' as const,
                reason: 'InvalidManifest',
                message: '1 error',
                lastTransitionTime: '2025-01-01T00:00:00Z',
              },
            ]
          : []),
      ],
    },
  });

  it('shows each folder with its state, and the errors of a failing one with file and line', async () => {
    const el = await mount('tp-syncs', {
      loaded: true,
      syncs: [
        sync('team', 'False', [
          {
            file: 'bad.yaml',
            line: 4,
            column: 3,
            field: 'spec.running',
            reason: 'Invalid',
            message: 'must be boolean',
          },
        ]),
        sync('examples', 'True'),
      ],
    });
    const items = $$(el, 'li.sync');
    expect(items.map((i) => i.getAttribute('data-name'))).toEqual(['examples', 'team']);
    expect(text(items[0]!.querySelector('tp-badge'))).toBe('Ready');
    expect(items[0]!.querySelector('ul.errors')).toBeNull();
    expect(text(items[0]!.querySelector('.path'))).toBe('/srv/examples');
    expect(text(items[1]!.querySelector('tp-badge'))).toBe('Stalled');
    expect(items[1]!.querySelector('tp-badge')?.getAttribute('tone')).toBe('error');
    expect(text(items[1]!.querySelector('ul.errors li'))).toBe('bad.yaml:4:3 spec.running must be boolean');
  });

  it('derives the state from the conditions, and the location from what a cause has', () => {
    expect(syncState(sync('a', 'True')).label).toBe('Ready');
    expect(syncState(sync('a', 'False')).label).toBe('Stalled');
    expect(syncState({ ...sync('a', 'True'), status: {} }).label).toBe('Pending');
    const cond = (type: string, status: 'True' | 'False') => ({
      type,
      status,
      reason: 'R',
      message: 'm',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
    const withConds = (...conditions: ReturnType<typeof cond>[]) => ({ ...sync('a', 'True'), status: { conditions } });
    expect(
      syncState(withConds(cond('Ready', 'False'), cond('Stalled', 'False'), cond('Reconciling', 'True'))).label,
    ).toBe('Reconciling');
    expect(syncState(withConds(cond('Ready', 'False'))).label).toBe('Not ready');
    expect(causeLocation({ reason: 'x', message: 'y', file: 'a.yaml', line: 2 })).toBe('a.yaml:2');
    expect(causeLocation({ reason: 'x', message: 'y', file: 'a.yaml' })).toBe('a.yaml');
    expect(causeLocation({ reason: 'x', message: 'y', line: 7 })).toBe('line 7');
  });
});

describe('tp-app', () => {
  it('shows every kind from its store and the connection state of them all', async () => {
    // Stores that never start: fed by apply(), as the watch would.
    const stores = await appStores();
    const el = await mount('tp-app', { stores: stores as never, config: { workspaceBaseUrl: 'http://h:8081' } });
    expect(text($(el, 'tp-connection'))).toBe('Connecting…');
    expect(text($(el, 'tp-workspaces'))).toBe('Loading…');

    stores.workspaces.apply(workspace('alice', { ready: ['True', 'Running', 'The IDE is at /workspace/alice/.'] }));
    stores.ports.apply(port('alice', 3000));
    stores.events.apply(event('e1', 'Warning', '2025-01-01T00:00:00Z'));
    await settle(el);
    const ws = $(el, 'tp-workspaces')!;
    expect($$(ws, 'tbody tr').map((r) => r.getAttribute('data-name'))).toEqual(['alice']);
    expect(text($(ws, 'a.port'))).toBe('Port :3000');
    expect($$($(el, 'tp-events')!, 'li.warning')).toHaveLength(1);
  });
});
