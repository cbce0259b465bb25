// Editor settings that follow you, through the controller with the stub runtime, whose exec
// runs the real scripts with the host's sh in a scratch home per workspace: settings written
// in one workspace (as VS Code writes them) are saved when it stops and written into the next
// new workspace with their time; a newer file there is kept; deleting saves too; an extension
// that cannot be installed is named; `settingsSync: false` opts out. The default namespace keeps
// the file a single-user install always had (settings/editor.json, read here as `settings`).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extensionId, parseSettingsDump } from '../../controller/reconcilers/workspace-settings.js';
import type { StubExec } from '../../drivers/runtime/stub/index.js';
import { EDITOR_EXTENSIONS_DIR, EDITOR_USER_DIR, emptySettings, mergeSettings } from '../../specs/index.js';
import { EditorSettings, SettingsFile } from '../../store/index.js';
import { cond, harness, waitFor, workspace, type Harness } from './helpers.js';

let scratch: string;
const homeOf = (name: string) => join(scratch, 'home', name);

const localExec: StubExec = (name, argv, opts) => {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: homeOf(name),
    env: { ...opts.env, HOME: homeOf(name), PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { exitCode: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

async function vscodeWrites(name: string, file: string, text: string, mtimeS?: number): Promise<void> {
  const p = join(homeOf(name), EDITOR_USER_DIR, file);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, text);
  if (mtimeS !== undefined) await utimes(p, mtimeS, mtimeS);
}

describe('editor settings that follow you', () => {
  let h: Harness;
  let settings: SettingsFile;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tp-settings-'));
    for (const n of ['alice', 'bob', 'carol', 'dave']) await mkdir(homeOf(n), { recursive: true });
    h = await harness({ exec: localExec });
    settings = new SettingsFile(h.dir);
  });
  afterEach(async () => {
    await h.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const setRunning = (name: string, running: boolean) =>
    h.store.transaction((tx) => {
      const cur = tx.get('Workspace', name)!;
      tx.update({ ...cur, spec: { ...cur.spec, running } });
    });
  const applied = (name: string) =>
    waitFor(`${name} SettingsApplied`, () => {
      const c = cond(h.ws(name), 'SettingsApplied');
      return c && c.reason !== 'Pending' ? c : undefined;
    });

  it('saves what changed in a workspace when it stops, and writes it into the next new one with its time', async () => {
    await h.start({ settings: new EditorSettings(h.dir) });
    await h.store.transaction((tx) => tx.create(workspace('alice')));
    await h.ready('alice');
    await vscodeWrites('alice', 'settings.json', '{ "editor.fontSize": 17 }\n', 1_700_000_100);
    await vscodeWrites('alice', 'snippets/ts.json', '{}\n', 1_700_000_101);
    await mkdir(join(homeOf('alice'), EDITOR_EXTENSIONS_DIR, 'esbenp.prettier-vscode-11.0.0'), { recursive: true });
    await setRunning('alice', false);
    const saved = await waitFor('settings saved', async () => {
      const p = await settings.read();
      return p.files['settings.json'] ? p : undefined;
    });
    expect(saved.files['settings.json']).toEqual({ content: '{ "editor.fontSize": 17 }\n', mtime: 1_700_000_100 });
    expect(saved.files['snippets/ts.json']?.mtime).toBe(1_700_000_101);
    expect(saved.extensions).toEqual(['esbenp.prettier-vscode']);
    expect(saved.source).toBe('alice');

    // bob's home came with a settings.json newer than alice's (a copied home): kept. A file written
    // since bob's instance started (the image's defaults, code-server's first run) would not be.
    await vscodeWrites('bob', 'settings.json', '{ "mine": true }\n', 1_750_000_000);
    await h.store.transaction((tx) => tx.create(workspace('bob')));
    await h.ready('bob');
    const c = await applied('bob');
    const bobUser = join(homeOf('bob'), EDITOR_USER_DIR);
    expect(await readFile(join(bobUser, 'settings.json'), 'utf8')).toBe('{ "mine": true }\n');
    expect(await readFile(join(bobUser, 'snippets/ts.json'), 'utf8')).toBe('{}\n');
    expect((await stat(join(bobUser, 'snippets/ts.json'))).mtimeMs).toBe(1_700_000_101_000);
    // No code-server on this host to install the extension with: named, not hidden.
    expect(c).toMatchObject({ status: 'False', reason: 'ExtensionsMissing' });
    expect(c.message).toMatch(/esbenp\.prettier-vscode/);
  });

  it('a deleted workspace saves too; newer wins over what was saved; settingsSync false neither saves nor gets them', async () => {
    await settings.write({
      apiVersion: 'tidepool/v1',
      kind: 'EditorSettings',
      files: { 'settings.json': { content: '{ "a": 1 }\n', mtime: 1_700_000_000 } },
      extensions: [],
    });
    // As code-server's first run writes it, after the instance started: not the user's, so replaced.
    await vscodeWrites('carol', 'settings.json', '{ "defaults": true }\n', Math.floor(Date.now() / 1000) + 60);
    await h.start({ settings: new EditorSettings(h.dir) });
    await h.store.transaction((tx) => {
      tx.create(workspace('carol'));
      tx.create(workspace('dave', { settingsSync: false }));
    });
    await h.ready('carol');
    await h.ready('dave');
    expect(await applied('carol')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(await readFile(join(homeOf('carol'), EDITOR_USER_DIR, 'settings.json'), 'utf8')).toBe('{ "a": 1 }\n');
    expect(cond(h.ws('dave'), 'SettingsApplied')).toBeUndefined();
    await vscodeWrites('dave', 'settings.json', '{ "dave": 1 }\n', 1_950_000_000);
    await vscodeWrites('carol', 'settings.json', '{ "a": 2 }\n', 1_750_000_000);
    await h.store.transaction((tx) => {
      tx.delete('Workspace', 'dave');
      tx.delete('Workspace', 'carol');
    });
    await waitFor('both gone', () => !h.ws('carol') && !h.ws('dave'));
    const saved = await settings.read();
    expect(saved.files['settings.json']).toEqual({ content: '{ "a": 2 }\n', mtime: 1_750_000_000 });
    expect(saved.source).toBe('carol');
  });

  it("keeps each namespace's settings its own: one person's saved settings never reach another's workspaces", async () => {
    const inNs = (namespace: string, name: string) => {
      const w = workspace(name);
      return { ...w, metadata: { ...w.metadata, namespace } };
    };
    for (const k of ['team-a/dev', 'team-a/next', 'team-b/dev']) await mkdir(homeOf(k), { recursive: true });
    const perNs = new EditorSettings(h.dir);
    await h.start({ settings: perNs });
    await h.store.transaction((tx) => tx.create(inNs('team-a', 'dev')));
    await h.ready('team-a/dev');
    await vscodeWrites('team-a/dev', 'settings.json', '{ "a": "only" }\n', 1_700_000_200);
    await h.store.transaction((tx) => {
      const cur = tx.get('Workspace', 'team-a/dev')!;
      tx.update({ ...cur, spec: { ...cur.spec, running: false } });
    });
    const saved = await waitFor('team-a saved', async () => {
      const p = await perNs.of('team-a').read();
      return p.files['settings.json'] ? p : undefined;
    });
    expect(saved.source).toBe('team-a/dev');
    expect(perNs.of('team-a').path).toBe(join(h.dir, 'settings', 'namespaces', 'team-a', 'editor.json'));
    // Neither the default namespace's file (a single-user install's) nor team-b's got anything.
    expect(await settings.read()).toMatchObject({ files: {}, extensions: [] });
    expect(await perNs.of('team-b').read()).toMatchObject({ files: {}, extensions: [] });

    await h.store.transaction((tx) => {
      tx.create(inNs('team-b', 'dev'));
      tx.create(inNs('team-a', 'next'));
    });
    await h.ready('team-b/dev');
    await h.ready('team-a/next');
    expect(await applied('team-b/dev')).toMatchObject({
      status: 'True',
      message: 'No editor settings have been saved yet.',
    });
    await expect(readFile(join(homeOf('team-b/dev'), EDITOR_USER_DIR, 'settings.json'), 'utf8')).rejects.toThrow(
      /ENOENT/,
    );
    expect(await applied('team-a/next')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(await readFile(join(homeOf('team-a/next'), EDITOR_USER_DIR, 'settings.json'), 'utf8')).toBe(
      '{ "a": "only" }\n',
    );
  });

  it('refuses a namespace that is not a DNS label as a settings file (no path out of the data directory)', () => {
    const perNs = new EditorSettings(h.dir);
    expect(() => perNs.of('../x')).toThrow(/namespace "\.\.\/x" is not a DNS label/);
    expect(perNs.of('default').path).toBe(join(h.dir, 'settings', 'editor.json'));
  });

  it('reads what the capture script prints, and extension folders as ids', () => {
    const b64 = Buffer.from('{"x":1}').toString('base64');
    const dump = parseSettingsDump(
      `F 12 settings.json ${b64}\nF 13 ../evil.json ${b64}\nD 14 keybindings.json\nD 15 ../x.json\nE ms-python.python-2024.1.0-linux-x64\nE junk\n`,
    );
    expect(dump).toEqual({
      files: { 'settings.json': { mtime: 12, content: '{"x":1}' } },
      defaults: { 'keybindings.json': 14 },
      extensions: ['ms-python.python'],
    });
    expect(extensionId('Vscodevim.Vim-1.27.0')).toBe('vscodevim.vim');
  });

  it("keeps the image's defaults out: one newer than the saved file drops it, an older one does not", () => {
    const saved = {
      ...emptySettings(),
      files: { 'settings.json': { mtime: 10, content: '{"a":1}' }, 'keybindings.json': { mtime: 30, content: '[]' } },
    };
    const { merged, changed } = mergeSettings(saved, {
      files: {},
      defaults: { 'settings.json': 20, 'keybindings.json': 25, 'snippets/x.json': 40 },
      extensions: [],
    });
    expect(merged.files).toEqual({ 'keybindings.json': { mtime: 30, content: '[]' } });
    expect(changed).toEqual(["settings.json (back to the image's default)"]);
    expect(extensionId('extensions.json')).toBeUndefined();
  });
});
