// Ready means the IDE answers now: the IDE health rounds keep probing Ready workspaces; an
// IDE that stops answering turns Ready False (reason and event) and back True when it answers
// again. The rounds themselves, with a fake clock: only changes are reported, probes are
// bounded in number at once, and a resync probes nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { IdeHealth } from '../../controller/ide-health.js';
import { FakeClock } from '../../controller/queue/index.js';
import { cond, eventsFor, harness, waitFor, workspace, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('IDE health rounds', () => {
  it('reports an IDE down after the failed rounds in a row, and up again once, with few probes at once', async () => {
    const clock = new FakeClock(0);
    const up = new Map<string, boolean>();
    let inFlight = 0;
    let most = 0;
    const probe = async (ip: string) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return up.get(ip) ?? true;
    };
    const changes: string[] = [];
    const health = new IdeHealth(probe, 8080, clock, (n) => changes.push(n), {
      intervalMs: 1000,
      failures: 2,
      concurrency: 3,
    });
    for (let i = 0; i < 10; i++) health.watch(`w${i}`, `10.0.0.${i}`);
    await health.round();
    expect(changes).toEqual([]);
    expect(most).toBeLessThanOrEqual(3);

    up.set('10.0.0.4', false);
    await health.round();
    expect(changes).toEqual([]); // one failure is not yet down
    await health.round();
    expect(changes).toEqual(['w4']);
    expect(health.isDown('w4')).toBe(true);
    await health.round();
    expect(changes).toEqual(['w4']); // still down: not reported again

    up.set('10.0.0.4', true);
    await health.round();
    expect(changes).toEqual(['w4', 'w4']);
    expect(health.isDown('w4')).toBe(false);

    health.unwatch('w4');
    up.set('10.0.0.4', false);
    await health.round();
    await health.round();
    expect(changes).toHaveLength(2);
    expect(health.size).toBe(9);
  });

  it('runs rounds on its clock until stopped', async () => {
    const clock = new FakeClock(0);
    let probes = 0;
    const health = new IdeHealth(
      async () => {
        probes++;
        return true;
      },
      8080,
      clock,
      () => {},
      { intervalMs: 1000 },
    );
    health.watch('a', '10.0.0.1');
    health.start();
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 5));
    expect(probes).toBe(0);
    clock.advance(1);
    await waitFor('a round', () => probes === 1);
    health.stop();
    clock.advance(5000);
    await new Promise((r) => setTimeout(r, 5));
    expect(probes).toBe(1);
  });
});

describe('Ready follows the IDE while the workspace runs', () => {
  it('an IDE that stops answering turns Ready False with a reason and an event; it turns True again when it answers', async () => {
    h = await harness();
    await h.start({ ideHealth: { intervalMs: 20, failures: 2 } });
    await h.store.create(workspace('ide'));
    await h.ready('ide');
    await h.runtime.setIdeDown('ide', true);
    const down = await waitFor('Ready False', () => {
      const c = cond(h!.ws('ide'), 'Ready');
      return c?.status === 'False' ? c : undefined;
    });
    expect(down.reason).toBe('IDENotAnswering');
    expect(down.message).toContain('stopped answering');
    // The VM still runs, and the route goes (nothing to route to).
    expect(h.ws('ide')!.status!.phase).toBe('Running');
    await waitFor('route removed', () => h!.proxy.table()?.workspaces.length === 0);
    await waitFor('warning event', () => eventsFor(h!.store, 'ide').some((e) => e.reason === 'IDENotAnswering'));

    await h.runtime.setIdeDown('ide', false);
    await h.ready('ide');
    await waitFor('answers again event', () =>
      eventsFor(h!.store, 'ide').some((e) => e.reason === 'IDEReady' && String(e.note).includes('again')),
    );
    await waitFor('route back', () => h!.proxy.table()?.workspaces.length === 1);
  });

  it('a resync of Ready workspaces probes nothing', async () => {
    h = await harness();
    let probes = 0;
    const runtime = h.runtime;
    const ctl = await h.start({
      probe: async (ip, port) => {
        probes++;
        return runtime.probe(ip, port);
      },
      ideHealth: { intervalMs: 3_600_000 },
    });
    for (const n of ['a', 'b', 'c']) await h.store.create(workspace(n));
    for (const n of ['a', 'b', 'c']) await h.ready(n);
    await ctl.idle();
    const before = probes;
    await ctl.resync();
    await ctl.idle();
    expect(probes).toBe(before);
  });

  it('a new workspace on the stub runtime is Ready without waiting for a re-poll: the driver reports the IP at creation', async () => {
    h = await harness();
    await h.start();
    const lists = h.runtime.calls.list;
    await h.store.create(workspace('quick'));
    await h.ready('quick');
    // Created, probed and Ready in one reconcile: no list was needed to learn the IP.
    expect(h.runtime.calls.list).toBe(lists);
  });
});
