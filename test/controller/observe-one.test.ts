// A starting workspace is watched through its own instance, never through listings of the
// whole host: on Incus a listing returns the full state of every instance (0.24 s with 14 of
// them), and one per poll of every starting workspace slowed the containers' own boot. The
// stub counts each kind of call; its VMs get their address only after a while, as with DHCP,
// so the controller has to look again several times before the workspace is Ready.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Controller } from '../../controller/index.js';
import { harness, waitFor, workspace, type Harness } from './helpers.js';

const IP_AFTER_MS = 400;

describe('a starting workspace is observed alone', () => {
  let h: Harness;
  let c: Controller;
  beforeEach(async () => {
    h = await harness({ ipAfterMs: IP_AFTER_MS });
    c = await h.start();
    // Others already running: what a listing would fetch over and over.
    await h.store.transaction((tx) => {
      for (let i = 0; i < 5; i++) tx.create(workspace(`other${i}`));
    });
    for (let i = 0; i < 5; i++) await h.ready(`other${i}`);
    await c.idle();
  });
  afterEach(async () => {
    await h.close();
  });

  it('polls its one instance until it has an address, with no listing', async () => {
    const lists = h.runtime.calls.list;
    const gets = h.runtime.calls.get;
    await h.store.create(workspace('new'));
    await h.ready('new');
    // It was looked at more than once (the address came late) ...
    expect(h.runtime.calls.get - gets).toBeGreaterThanOrEqual(2);
    // ... and never by listing every instance.
    expect(h.runtime.calls.list - lists).toBe(0);
  });

  it('starts a stopped one the same way', async () => {
    await h.setSpec('other0', { running: false });
    await waitFor('other0 Stopped', () => h.ws('other0')?.status?.phase === 'Stopped');
    const lists = h.runtime.calls.list;
    const gets = h.runtime.calls.get;
    await h.setSpec('other0', { running: true });
    await waitFor('other0 Starting', () => h.ws('other0')?.status?.phase !== 'Stopped');
    await h.ready('other0');
    expect(h.runtime.calls.get - gets).toBeGreaterThanOrEqual(2);
    expect(h.runtime.calls.list - lists).toBe(0);
  });

  it('learns of a change the runtime reports by looking at that instance alone', async () => {
    const lists = h.runtime.calls.list;
    const starts = h.runtime.calls.start;
    await h.runtime.stopBehindBack('other1');
    await waitFor('other1 started again', () => h.runtime.calls.start > starts);
    await h.ready('other1');
    expect(h.runtime.calls.list - lists).toBe(0);
  });

  it('still lists once per resync, however many workspaces are starting', async () => {
    await h.store.transaction((tx) => {
      for (let i = 0; i < 4; i++) tx.create(workspace(`burst${i}`));
    });
    const lists = h.runtime.calls.list;
    await c.resync();
    for (let i = 0; i < 4; i++) await h.ready(`burst${i}`);
    expect(h.runtime.calls.list - lists).toBe(1);
  });
});
