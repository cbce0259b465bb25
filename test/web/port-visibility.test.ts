// @vitest-environment happy-dom
// Who may open a Port, on the workspace page: the choice of private, team or public, and for a
// public Port its share link (asked for, then a new one), in happy-dom with fakes for the API.
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../web/src/elements/tp-ports.js';
import { $, mount, port, settle, workspace } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
});

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('a Port’s visibility', () => {
  it('shows and changes it; a public Port shows its share link and makes a new one', async () => {
    const pub = { ...port('alice', 3000), spec: { workspace: 'alice', port: 3000, visibility: 'public' as const } };
    let n = 0;
    const actions = {
      add: vi.fn(),
      remove: vi.fn(),
      probe: vi.fn(async () => ({ answering: true, message: '' })),
      setVisibility: vi.fn(async () => undefined),
      share: vi.fn(async (_name: string, rotate?: boolean) => {
        n += rotate ? 1 : 0;
        return { visibility: 'public' as const, token: `t${n}`, path: `/workspace/alice/port/3000/tp-share/t${n}/` };
      }),
    };
    const el = await mount('tp-ports', {
      workspace: workspace('alice'),
      ports: [pub, port('alice', 4000)],
      config: { workspaceBaseUrl: 'http://h:8081/' },
      actions,
    });
    await settle(el);
    const select = (p: number) => $(el, `select[aria-label="Who may open port ${p}"]`) as HTMLSelectElement;
    // The option marked selected (happy-dom's select.value does not follow it; browsers do).
    const chosen = (p: number) => (select(p).querySelector('option[selected]') as HTMLOptionElement).value;
    expect(chosen(3000)).toBe('public');
    expect(chosen(4000)).toBe('private');
    // Only the public one offers a link.
    expect($(el, 'li[data-port="4000"] .share')).toBeNull();

    select(4000).value = 'team';
    select(4000).dispatchEvent(new Event('change'));
    expect(actions.setVisibility).toHaveBeenCalledWith('alice-4000', 'team');

    ($(el, 'li[data-port="3000"] .share button') as HTMLButtonElement).click();
    await tick();
    await settle(el);
    const link = () => ($(el, 'input[aria-label="Share link of port 3000"]') as HTMLInputElement).value;
    expect(actions.share).toHaveBeenCalledWith('alice-3000', false);
    expect(link()).toBe('http://h:8081/workspace/alice/port/3000/tp-share/t0/');

    ($(el, 'li[data-port="3000"] .share button') as HTMLButtonElement).click();
    await tick();
    await settle(el);
    expect(actions.share).toHaveBeenLastCalledWith('alice-3000', true);
    expect(link()).toBe('http://h:8081/workspace/alice/port/3000/tp-share/t1/');
  });
});
