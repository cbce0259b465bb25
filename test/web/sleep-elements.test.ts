// @vitest-environment happy-dom
// A sleeping workspace in the UI: its IDE link stays usable (opening it wakes it), its status
// says it sleeps and wakes when opened, Start/Stop does not wait on it, and the Wake and Sleep
// button calls the API with the right verb in the right phase only; the create form sends the
// idle timeout.
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../web/src/elements/tp-sleep-button.js';
import { workspaceObject } from '../../web/src/api.js';
import { humanStatus, ideState, powerPending } from '../../web/src/status.js';
import { $, mount, settle, text, workspace } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
});

describe('sleeping in the UI', () => {
  it('a sleeping workspace opens (it wakes), says so, and Start/Stop does not wait on it', () => {
    const ws = workspace('a', { phase: 'Sleeping', ready: ['False', 'Idle', 'Asleep since …'] });
    expect(ideState(ws)).toEqual({ open: true });
    const asleep = { ...ws, status: { ...ws.status, sleep: { since: '2026-01-01T00:00:00Z', reason: 'Idle' } } };
    expect(humanStatus(asleep as never)).toMatch(/^Sleeping since .*: its home is kept, and it wakes when opened\.$/);
    expect(powerPending(true, 'Sleeping')).toBe(false);
  });

  it('Wake while it sleeps, Sleep while it runs, nothing otherwise', async () => {
    const action = vi.fn(async () => undefined);
    const el = await mount('tp-sleep-button', { name: 'a', running: true, phase: 'Sleeping', action });
    const button = $(el, 'button') as HTMLButtonElement;
    expect(text(button)).toBe('Wake');
    button.click();
    await new Promise((r) => setTimeout(r, 0));
    await settle(el);
    expect(action).toHaveBeenCalledWith('a', 'wake');
    el.phase = 'Running';
    await settle(el);
    expect(text($(el, 'button'))).toBe('Sleep');
    ($(el, 'button') as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(action).toHaveBeenLastCalledWith('a', 'sleep');
    el.phase = 'Starting';
    await settle(el);
    expect($(el, 'button')).toBeNull();
    el.phase = 'Running';
    el.running = false; // stopped by a person: neither sleeps nor wakes
    await settle(el);
    expect($(el, 'button')).toBeNull();
  });

  it('the create form sends spec.idleTimeout only when given', () => {
    const base = { name: 'a', image: 'default', cpu: 2, memory: '4Gi' };
    expect((workspaceObject({ ...base, idleTimeout: '30m' }).spec as { idleTimeout?: string }).idleTimeout).toBe('30m');
    expect('idleTimeout' in (workspaceObject(base).spec as object)).toBe(false);
  });
});
