// @vitest-environment happy-dom
// Namespaces in the UI: an admin's picker (and nobody else's), the shown namespace's use against
// its quota, and IDE and Port links under /ns/{ns}/ outside the default namespace.
import { afterEach, describe, expect, it } from 'vitest';
import '../../web/src/elements/tp-namespace-bar.js';
import { ideUrl, namespaceBase, portUrl, type QuotaUsage } from '../../web/src/api.js';
import { mount, text } from './helpers.js';

afterEach(() => {
  document.body.innerHTML = '';
});

const usage: QuotaUsage = {
  apiVersion: 'tidepool/v1',
  kind: 'QuotaUsage',
  namespace: 'alice',
  quota: 'everyone',
  limits: { workspaces: 3, cpu: 8 },
  used: { workspaces: 2, cpu: 4, memory: '8Gi' },
};

describe('tp-namespace-bar', () => {
  it('offers an admin every namespace, and tells the page which one was picked', async () => {
    const el = await mount('tp-namespace-bar', { admin: true, namespaces: ['alice', 'bob'], namespace: '', usage });
    const select = el.shadowRoot!.querySelector('select')!;
    expect([...select.options].map((o) => o.value)).toEqual(['', 'alice', 'bob']);
    const picked = new Promise<string>((resolve) =>
      el.addEventListener('namespace-change', (e) => resolve((e as CustomEvent<string>).detail)),
    );
    select.value = 'bob';
    select.dispatchEvent(new Event('change'));
    expect(await picked).toBe('bob');
    expect(text(el)).toContain('alice: 2 of 3 workspaces · 4 of 8 vCPUs · 8Gi memory');
  });

  it('shows no picker to anyone else, and says when there is no quota', async () => {
    const el = await mount('tp-namespace-bar', {
      admin: false,
      usage: { ...usage, quota: undefined, limits: {} } as QuotaUsage,
    });
    expect(el.shadowRoot!.querySelector('select')).toBeNull();
    expect(text(el)).toContain('alice: 2 workspaces · 4 vCPUs · 8Gi memory (no quota)');
  });

  it('links IDEs and Ports of another namespace under /ns/{ns}/, the default one as before', () => {
    const config = { workspaceBaseUrl: 'http://h:8081' };
    expect(ideUrl(config, 'dev')).toBe('http://h:8081/workspace/dev/');
    expect(ideUrl(config, 'dev', 'default')).toBe('http://h:8081/workspace/dev/');
    expect(ideUrl(config, 'dev', 'team-a')).toBe('http://h:8081/ns/team-a/workspace/dev/');
    expect(portUrl(config, 'dev', 3000, 'team-a')).toBe('http://h:8081/ns/team-a/workspace/dev/port/3000/');
    expect(namespaceBase(undefined)).toBe('/api/v1');
    expect(namespaceBase('team-a')).toBe('/api/v1/namespaces/team-a');
  });
});
