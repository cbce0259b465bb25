// Dotfiles, settings that follow you and devcontainer.json on the real Incus, through the
// controller in process (a real store, the Incus runtime, the memory proxy) and the IDE image:
// repositories are served by a `git daemon` on the bridge's host address (the bridge filter
// opens its port for this run and closes it after). A workspace with a repository that has a
// devcontainer.json and dotfiles with an install.sh gets its ports, env and post-create command,
// its features named, and the script run; settings written in it as VS Code writes them are
// saved when it stops and appear in the next new workspace, whose dotfiles have no script and
// are linked. afterAll deletes every instance and volume of this run and ends the git daemon.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type Controller } from '../../controller/index.js';
import { createMemoryProxy } from '../../drivers/proxy/memory/index.js';
import { createIncusRuntime, IncusClient, type IncusRuntime } from '../../drivers/runtime/incus/index.js';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { validateManifest, type Condition } from '../../specs/index.js';
import { EditorSettings, SettingsFile, Store, type Resource } from '../../store/index.js';
import {
  INCUS_SOCKET,
  PROFILE,
  deleteByTidepoolId,
  deleteVolumesByTidepoolId,
  requireOrSkip,
  runId,
  until,
} from './helpers.js';

const HOST_ON_BRIDGE = '10.77.0.1';
const BRIDGE = process.env.TIDEPOOL_BRIDGE ?? 'tpbr0';
const BRIDGE_FILTER = fileURLToPath(new URL('../../scripts/bridge-filter.sh', import.meta.url));
const run = await requireOrSkip('test/incus/personal');
const probe = new IncusClient({ socketPath: INCUS_SOCKET });
const hasIde =
  run &&
  (await probe.call('GET', `/1.0/images/aliases/${IDE_IMAGE_ALIAS}`).then(
    () => true,
    () => false,
  ));
await probe.close();
if (run && !hasIde && process.env.TIDEPOOL_REQUIRE_INCUS)
  throw new Error(`test/incus/personal: Incus has no image ${IDE_IMAGE_ALIAS}; build it with scripts/setup-host.sh`);

const ID = runId('t-personal');
let scratch: string;
let store: Store;
let runtime: IncusRuntime;
let controller: Controller;
let settings: SettingsFile;
let gitDaemon: ChildProcess | undefined;
let gitPort = 0;

const DEVCONTAINER = `{
  // comments and trailing commas, as VS Code writes it
  "features": { "ghcr.io/devcontainers/features/go:1": {} },
  "forwardPorts": [3000],
  "portsAttributes": { "3000": { "label": "web" } },
  "containerEnv": { "GREETING": "hello" },
  "postCreateCommand": "echo \\"$GREETING from $(whoami)\\" > created.txt",
}`;

async function freePortOn(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, host, resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A bare repository `name.git` with `files`, served by the git daemon. */
async function repo(name: string, files: Record<string, string>): Promise<string> {
  const work = join(scratch, 'work', name);
  const lines = [`mkdir -p ${work}`, `cd ${work}`, 'git init -q -b main'];
  for (const [f, text] of Object.entries(files))
    lines.push(`mkdir -p "$(dirname '${f}')"`, `printf '%s' '${text.replace(/'/g, `'\\''`)}' > '${f}'`);
  lines.push(
    'chmod +x *.sh 2>/dev/null || true',
    'git add -A',
    'git -c user.email=t@t -c user.name=t commit -q -m init',
  );
  lines.push(`git clone -q --bare ${work} ${join(scratch, 'git', `${name}.git`)}`);
  await execa('sh', ['-c', lines.join(' && ')]);
  return `git://${HOST_ON_BRIDGE}:${gitPort}/${name}.git`;
}

const manifest = (kind: string, name: string, spec: Record<string, unknown>) => {
  const r = validateManifest({ apiVersion: 'tidepool/v1', kind, metadata: { name }, spec });
  if (!r.object) throw new Error(JSON.stringify(r.causes));
  return r.object as Resource;
};
const cond = (name: string, type: string): Condition | undefined =>
  (store.get('Workspace', name)?.status?.conditions ?? []).find((c) => c.type === type);
const ready = (name: string) =>
  until(`${name} Ready`, async () => (cond(name, 'Ready')?.status === 'True' ? true : undefined), 240_000, 500);
/** spec.running false, as `tidepool stop` writes it: the controller saves the editor settings, then stops it. */
const stop = (name: string) =>
  store.transaction((tx) => {
    const cur = tx.get('Workspace', name)!;
    tx.update({ ...cur, spec: { ...cur.spec, running: false } });
  });
const sh = (name: string, script: string) =>
  runtime.exec!(name, ['bash', '-lc', script], {
    uid: 1000,
    gid: 1000,
    cwd: '/home/dev',
    env: { HOME: '/home/dev', USER: 'dev', PATH: '/usr/local/bin:/usr/bin:/bin' },
  });

describe.runIf(run && hasIde)('dotfiles, settings and devcontainer.json on Incus', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tp-personal-'));
    gitPort = await freePortOn(HOST_ON_BRIDGE);
    await execa(BRIDGE_FILTER, ['allow', BRIDGE, String(gitPort)]);
    await execa('mkdir', ['-p', join(scratch, 'git')]);
    gitDaemon = spawn(
      'git',
      [
        'daemon',
        '--export-all',
        `--base-path=${join(scratch, 'git')}`,
        `--listen=${HOST_ON_BRIDGE}`,
        `--port=${gitPort}`,
        '--reuseaddr',
      ],
      { stdio: 'ignore' },
    );
    store = await Store.open(join(scratch, 'store.json'));
    runtime = createIncusRuntime({
      tidepoolId: ID,
      socketPath: INCUS_SOCKET,
      profile: PROFILE,
      stopTimeoutSeconds: 10,
    });
    settings = new SettingsFile(scratch);
    controller = await startController({
      store,
      runtime,
      proxy: createMemoryProxy(),
      dataDir: scratch,
      settings: new EditorSettings(scratch),
      resyncPeriodMs: 5000,
    });
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await runtime?.close?.();
    if (gitDaemon?.pid && gitDaemon.exitCode === null) process.kill(gitDaemon.pid, 'SIGTERM');
    if (gitPort) await execa(BRIDGE_FILTER, ['disallow', BRIDGE, String(gitPort)], { reject: false });
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }, 300_000);

  it("a repository's devcontainer.json and dotfiles with an install.sh are honoured; settings written there follow into the next workspace, whose dotfiles are linked", async () => {
    const app = await repo('app', { '.devcontainer/devcontainer.json': DEVCONTAINER, 'README.md': '# app' });
    const withScript = await repo('dots', {
      'install.sh':
        '#!/bin/sh\necho "export DOTFILES_MARK=from-install-sh" >> "$HOME/.bashrc"\necho installed-by-script\n',
    });
    const plain = await repo('plain-dots', { '.gitconfig': '[user]\n\tname = Dana\n' });
    await store.transaction((tx) =>
      tx.create(
        manifest('Workspace', 'alice', {
          resources: { cpu: 1, memory: '1Gi' },
          source: { git: { url: app }, dotfiles: { url: withScript } },
        }),
      ),
    );
    await ready('alice');
    expect(cond('alice', 'SourceReady')?.reason).toBe('Cloned');
    expect(cond('alice', 'DotfilesReady')).toMatchObject({ status: 'True', reason: 'Installed' });
    const notes = store
      .list('Event')
      .items.filter((e) => e.regarding.name === 'alice')
      .map((e) => `${e.reason}: ${e.note}`);
    expect((await sh('alice', 'grep -c DOTFILES_MARK ~/.bashrc')).stdout.trim(), notes.join('\n')).toBe('1');
    const dc = cond('alice', 'DevcontainerApplied')!;
    expect(dc).toMatchObject({ status: 'False', reason: 'PartlyApplied' });
    expect(dc.message).toMatch(/features/);
    expect((await sh('alice', 'cat ~/project/created.txt')).stdout).toBe('hello from dev\n');
    expect((await sh('alice', '. ~/.config/tidepool/devcontainer.env; echo $GREETING')).stdout).toBe('hello\n');
    const port = store.get('Port', 'alice-3000');
    expect(port?.spec).toEqual({ workspace: 'alice', port: 3000 });
    expect(port?.metadata.annotations?.['tidepool/label']).toBe('web');

    // VS Code writes the user's settings; the workspace stops; they are saved.
    await sh(
      'alice',
      'mkdir -p ~/.local/share/code-server/User && printf \'{ "editor.fontSize": 19 }\' > ~/.local/share/code-server/User/settings.json',
    );
    await stop('alice');
    const saved = await until(
      'settings saved',
      async () => ((await settings.read()).files['settings.json'] ? await settings.read() : undefined),
      120_000,
      500,
    );
    expect(saved.files['settings.json']?.content).toBe('{ "editor.fontSize": 19 }');

    await store.transaction((tx) =>
      tx.create(
        manifest('Workspace', 'bob', { resources: { cpu: 1, memory: '1Gi' }, source: { dotfiles: { url: plain } } }),
      ),
    );
    await ready('bob');
    expect(cond('bob', 'SettingsApplied')).toMatchObject({ status: 'True', reason: 'Applied' });
    const bobNotes = store
      .list('Event')
      .items.filter((e) => e.regarding.name === 'bob')
      .map((e) => `${e.reason}: ${e.note}`);
    expect((await sh('bob', 'cat ~/.local/share/code-server/User/settings.json')).stdout, bobNotes.join('\n')).toBe(
      '{ "editor.fontSize": 19 }',
    );
    expect(cond('bob', 'DotfilesReady')).toMatchObject({ status: 'True', reason: 'Installed' });
    expect((await sh('bob', 'readlink ~/.gitconfig; git config user.name')).stdout).toBe(
      '/home/dev/.dotfiles/.gitconfig\nDana\n',
    );

    // Back to the image's default there: the saved file goes, and a new home gets its own image's
    // default with nothing written into it.
    await sh(
      'bob',
      'sleep 1; cp /etc/skel/.local/share/code-server/User/settings.json ~/.local/share/code-server/User/',
    );
    await stop('bob');
    await until(
      'the default not saved',
      async () => ((await settings.read()).files['settings.json'] ? undefined : true),
      120_000,
      500,
    );
  }, 900_000);
});
