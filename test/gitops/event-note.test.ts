// The Warning event of a sync that cannot apply names each cause once: the message already
// carries the first causes, so only the others are appended.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, harness, waitFor, workspaceYaml } from './helpers.js';

afterEach(cleanupAll);

const count = (text: string, part: string) => text.split(part).length - 1;

describe('sync: the note of a Warning event', () => {
  it('an invalid file: its cause once', async () => {
    const h = await harness({ 'good.yaml': workspaceYaml('good') });
    await h.write(
      'broken.yaml',
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: broken}\nspec:\n  running: maybe\n',
    );
    const ev = await waitFor(() => h.events.find((e) => e.type === 'Warning'), 'a Warning event');
    expect(ev.reason).toBe('ValidationFailed');
    expect(ev.note).toMatch(/^Revision \S+ was not applied: broken\.yaml:5:\d+: spec\.running: /);
    expect(count(ev.note, 'broken.yaml:5:')).toBe(1);
    expect(ev.note).toMatch(/the previous revision stays in force\.$/);
  });

  it('more causes than the message shows: each once, the first three in the message and the rest after it', async () => {
    const h = await harness({ 'good.yaml': workspaceYaml('good') });
    const bad = (n: number) =>
      `apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: bad-${n}}\nspec:\n  running: maybe\n`;
    await h.write('bad.yaml', [1, 2, 3, 4, 5].map(bad).join('---\n'));
    const ev = await waitFor(() => h.events.find((e) => e.type === 'Warning'), 'a Warning event');
    const causes = h.status().errors!;
    expect(causes.length).toBe(5);
    // Every cause is named, none twice.
    const lines = [...ev.note.matchAll(/bad\.yaml:(\d+):\d+: spec\.running/g)].map((m) => Number(m[1]));
    expect(lines).toEqual(causes.map((c) => c.line));
    expect(new Set(lines).size).toBe(5);
    expect(ev.note).toContain('(and 2 more)');
  });

  it('a missing folder: its message once', async () => {
    const h = await harness({}, { startWithoutFolder: true });
    const ev = await waitFor(() => h.events.find((e) => e.type === 'Warning'), 'a Warning event');
    expect(ev.reason).toBe('FolderNotFound');
    expect(count(ev.note, 'does not exist')).toBe(1);
  });
});
