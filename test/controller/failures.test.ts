import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PortStatus, WorkspaceStatus } from '../../specs/index.js';
import { cond, eventsFor, harness, port, waitFor, workspace, type Harness } from './helpers.js';

/** Every status a kind/name had, in order, as the store's watch reported it. */
function history(
  h: Harness,
  kind: 'Workspace' | 'Port',
  name: string,
): { statuses: (WorkspaceStatus | PortStatus | undefined)[]; stop: () => void } {
  const statuses: (WorkspaceStatus | PortStatus | undefined)[] = [];
  const stop = h.store.watch({ kind }, (ev) => {
    if (ev.object.metadata.name === name) statuses.push(ev.object.status);
  });
  return { statuses, stop };
}

const condOf = (status: WorkspaceStatus | PortStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type);

describe('failures', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('shows a runtime that fails to create N times in status, then recovers', async () => {
    h.runtime.fail('create', 3, 'incus: no space left on device');
    await h.start();
    const seen = history(h, 'Workspace', 'flaky');
    await h.store.create(workspace('flaky'));
    await h.ready('flaky');
    seen.stop();
    // Status writes are group-committed: on a loaded host a failure's status may be replaced
    // before a watcher sees it (as in the start case below). Each status that said Failed must
    // say why; and the failure is always kept in the Warning event with the runtime's words.
    const failed = seen.statuses.filter((s) => s?.phase === 'Failed');
    for (const f of failed) {
      expect(condOf(f, 'VMReady')).toMatchObject({ status: 'False', reason: 'RuntimeError' });
      expect(condOf(f, 'VMReady')!.message).toContain('incus: no space left on device');
      expect(condOf(f, 'Ready')).toMatchObject({ status: 'False', reason: 'RuntimeError' });
    }
    if (failed.length === 0) {
      await waitFor('the Warning event of the failed create', () =>
        eventsFor(h.store, 'flaky').some(
          (e) =>
            (e as { type?: string }).type === 'Warning' &&
            String((e as { note?: string }).note).includes('incus: no space left on device'),
        ),
      );
    }
    expect(h.runtime.calls.create).toBe(4);
    expect(h.runtime.snapshot()).toHaveLength(1);
    expect(h.ws('flaky')!.status!.phase).toBe('Running');
  });

  it('shows a runtime that fails to start N times, then recovers', async () => {
    await h.start();
    await h.store.create(workspace('slow', { running: false }));
    await waitFor('stopped', () => h.ws('slow')?.status?.phase === 'Stopped');
    h.runtime.fail('start', 2, 'tart: VM is locked');
    const seen = history(h, 'Workspace', 'slow');
    await h.setSpec('slow', { running: true });
    await h.ready('slow');
    seen.stop();
    // Status writes are group-committed: a failure's status may be replaced before a watcher
    // sees it. What is always kept: a status that said so, or the Warning event with the runtime's words.
    const inStatus = seen.statuses.some(
      (s) =>
        condOf(s, 'Ready')?.reason === 'RuntimeError' && condOf(s, 'Ready')!.message.includes('tart: VM is locked'),
    );
    const inEvents = () =>
      eventsFor(h.store, 'slow').some(
        (e) =>
          (e as { type?: string }).type === 'Warning' &&
          String((e as { note?: string }).note).includes('tart: VM is locked'),
      );
    if (!inStatus) await waitFor('the Warning event of the failed start', inEvents);
    expect(h.runtime.calls.start).toBe(3);
  });

  it('does not create a second VM when a create succeeded but its answer was lost', async () => {
    const realCreate = h.runtime.create.bind(h.runtime);
    let lost = 1;
    h.runtime.create = async (req) => {
      await realCreate(req);
      if (lost-- > 0) throw new Error('connection reset by peer');
    };
    await h.start();
    await h.store.create(workspace('lost'));
    await h.ready('lost');
    expect(h.runtime.snapshot().map((v) => v.name)).toEqual(['lost']);
  });

  it('says so when the IDE does not answer in time, and goes on checking', async () => {
    let up = false;
    await h.start({ probe: async () => up, ideTimeoutMs: 200 });
    await h.store.create(workspace('mute'));
    const waiting = await waitFor('WaitingForIDE', () =>
      cond(h.ws('mute'), 'VMReady')?.reason === 'WaitingForIDE' ? h.ws('mute') : undefined,
    );
    expect(waiting.status!.phase).toBe('Starting');
    expect(waiting.status!.ip).toMatch(/^127\.77\./);
    // Routed already, so the first request after the IDE listens gets through; idle too, so a
    // refusal until then is "not running" (the pages), never "routed, but refuses".
    const routed = await waitFor('the starting route', () =>
      h.proxy.table()?.workspaces.length ? h.proxy.table() : undefined,
    );
    expect(routed.workspaces).toEqual([{ name: 'mute', upstream: `${waiting.status!.ip}:8080` }]);
    expect(h.proxy.idle().workspaces).toEqual(['mute']);
    expect(cond(h.ws('mute'), 'RouteReady')?.status).toBe('False');
    const late = await waitFor('timeout message', () => {
      const r = cond(h.ws('mute'), 'Ready');
      return r?.message.includes('has not answered') ? r : undefined;
    });
    expect(late).toMatchObject({ status: 'False', reason: 'WaitingForIDE' });
    expect(late.message).toContain('port 8080');
    up = true;
    await h.ready('mute', 20_000);
  });

  it('shows a runtime that cannot be listed as Ready Unknown, keeping the routes, then recovers', async () => {
    const c = await h.start();
    await h.store.create(workspace('far'));
    await h.ready('far');
    const seen = history(h, 'Workspace', 'far');
    h.runtime.fail('list', 2, 'incus: connection refused');
    await c.resync();
    await waitFor('Ready Unknown', () => seen.statuses.some((s) => condOf(s, 'Ready')?.status === 'Unknown'));
    const unknown = seen.statuses.find((s) => condOf(s, 'Ready')?.status === 'Unknown');
    expect(condOf(unknown, 'Ready')!.message).toContain('incus: connection refused');
    expect(condOf(unknown, 'VMReady')!.status).toBe('True');
    expect(h.proxy.table()!.workspaces).toHaveLength(1);
    await h.ready('far');
    seen.stop();
  });

  it('shows a proxy that fails to apply on workspace and port conditions, then recovers', async () => {
    await h.start();
    await waitFor('first (empty) table applied', () => h.proxy.calls.apply >= 1);
    // These failures hit the apply that routes the workspace (once its IDE answers) and its retries;
    // the earlier ones, naming it idle, go through.
    h.proxy.fail(
      'apply',
      4,
      'caddy: loading config: listen tcp :8081: bind: address already in use',
      (t) => t.workspaces.length > 0,
    );
    const wsSeen = history(h, 'Workspace', 'web');
    const portSeen = history(h, 'Port', 'web-3000');
    await h.store.transaction((tx) => {
      tx.create(workspace('web'));
      tx.create(port('web-3000', 'web', 3000));
    });
    await h.ready('web');
    await waitFor('port Ready', () => cond(h.store.get('Port', 'web-3000'), 'Ready')?.status === 'True');
    wsSeen.stop();
    portSeen.stop();
    const wsErr = wsSeen.statuses.find((s) => condOf(s, 'RouteReady')?.reason === 'ProxyError');
    expect(wsErr).toBeDefined();
    expect(condOf(wsErr, 'RouteReady')!.message).toContain('address already in use');
    expect(condOf(wsErr, 'Ready')).toMatchObject({ status: 'False', reason: 'ProxyError' });
    const portErr = portSeen.statuses.find((s) => condOf(s, 'Ready')?.reason === 'ProxyError');
    expect(portErr).toBeDefined();
    expect(condOf(portErr, 'Ready')!.message).toContain('address already in use');
    expect(h.proxy.table()!.workspaces).toHaveLength(1);
  });

  it('shows a proxy that cannot be read, then recovers', async () => {
    await h.start();
    await h.store.create(workspace('ro'));
    await h.ready('ro');
    h.proxy.fail('read', 2, 'caddy admin API: connection refused');
    const seen = history(h, 'Workspace', 'ro');
    h.proxy.reset();
    await waitFor('ProxyError shown', () => seen.statuses.some((s) => condOf(s, 'Ready')?.reason === 'ProxyError'));
    await waitFor(
      'recovered',
      () => cond(h.ws('ro'), 'Ready')?.status === 'True' && h.proxy.table()?.workspaces.length === 1,
    );
    seen.stop();
    expect(
      condOf(
        seen.statuses.find((s) => condOf(s, 'Ready')?.reason === 'ProxyError'),
        'Ready',
      )!.message,
    ).toContain('connection refused');
  });
});
