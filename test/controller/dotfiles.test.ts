// Dotfiles through the controller with the stub runtime, whose exec runs the real install
// script with the host's sh and git in a scratch home (a repository on disk, file://, no
// network): an install.sh is run (and only the first of the conventional names), a repository
// without one is linked into the home, the server's default applies unless the workspace says
// `{}`, and a failing script is DotfilesReady False with its words in the activity log.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StubExec } from '../../drivers/runtime/stub/index.js';
import { cond, eventsFor, harness, waitFor, workspace, type Harness } from './helpers.js';

let scratch: string;
const homes = new Map<string, string>();

/** Runs the command as the stub's guest would: sh in a home of its own on this disk. */
const localExec: StubExec = (name, argv, opts) => {
  const home = homes.get(name)!;
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: home,
    env: { ...opts.env, HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { exitCode: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

async function repo(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(scratch, 'repos', name);
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), text, { mode: f.endsWith('.sh') ? 0o755 : 0o644 });
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'dotfiles');
  return `file://${dir}`;
}

describe('dotfiles', () => {
  let h: Harness;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tp-dotfiles-'));
    for (const n of ['alice', 'bob', 'carol']) {
      homes.set(n, join(scratch, 'home', n));
      await mkdir(homes.get(n)!, { recursive: true });
    }
    h = await harness({ exec: localExec });
  });
  afterEach(async () => {
    await h.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const installed = (name: string, reason = 'Installed') =>
    waitFor(`${name} DotfilesReady ${reason}`, () => {
      const ws = h.ws(name);
      return cond(ws, 'DotfilesReady')?.reason === reason ? ws : undefined;
    });

  it('runs install.sh (the first conventional script), with its output in the activity log', async () => {
    const url = await repo('with-install', {
      'install.sh': '#!/bin/sh\necho "installing from $(pwd)"\necho hi > "$HOME/.installed-by-script"\n',
      'setup.sh': '#!/bin/sh\necho setup-ran > "$HOME/.setup-ran"\n',
      '.bashrc': 'alias ll="ls -l"\n',
    });
    await h.start();
    await h.store.transaction((tx) => tx.create(workspace('alice', { source: { dotfiles: { url } } })));
    const ws = await installed('alice');
    expect(cond(ws, 'DotfilesReady')?.status).toBe('True');
    const home = homes.get('alice')!;
    expect(await readFile(join(home, '.installed-by-script'), 'utf8')).toBe('hi\n');
    await expect(readFile(join(home, '.setup-ran'), 'utf8')).rejects.toThrow();
    // A script ran, so nothing is linked.
    await expect(readlink(join(home, '.bashrc'))).rejects.toThrow();
    const ev = await waitFor('DotfilesInstalled event', () =>
      eventsFor(h.store, 'alice').find((e) => e.reason === 'DotfilesInstalled'),
    );
    expect(ev.note).toMatch(/running ~\/\.dotfiles\/install\.sh/);
    expect(ev.note).toMatch(/installing from .*\.dotfiles/);
    await h.ready('alice');
  });

  it('without a script, links the dotfiles into the home (keeping what was there as .bak); the server default applies, {} opts out', async () => {
    const url = await repo('plain', {
      '.bashrc': 'export A=1\n',
      '.config/nvim/init.lua': '-- vim\n',
      'README.md': 'x',
    });
    await writeFile(join(homes.get('bob')!, '.bashrc'), 'old\n');
    await h.start({ dotfiles: { url, ref: 'main' } });
    await h.store.transaction((tx) => {
      tx.create(workspace('bob'));
      tx.create(workspace('carol', { source: { dotfiles: {} } }));
    });
    await installed('bob');
    const home = homes.get('bob')!;
    expect(await readlink(join(home, '.bashrc'))).toBe(join(home, '.dotfiles', '.bashrc'));
    expect(await readlink(join(home, '.config'))).toBe(join(home, '.dotfiles', '.config'));
    expect(await readFile(join(home, '.bashrc.bak'), 'utf8')).toBe('old\n');
    await expect(readlink(join(home, 'README.md'))).rejects.toThrow();
    const carol = await h.ready('carol');
    expect(cond(carol, 'DotfilesReady')).toBeUndefined();
  });

  it('a failing install script is DotfilesReady False with its words, and the workspace still becomes Ready', async () => {
    const url = await repo('failing', { 'bootstrap.sh': '#!/bin/sh\necho "missing tool frob" >&2\nexit 3\n' });
    await h.start();
    await h.store.transaction((tx) => tx.create(workspace('alice', { source: { dotfiles: { url } } })));
    const ws = await installed('alice', 'DotfilesFailed');
    expect(cond(ws, 'DotfilesReady')?.message).toMatch(/the install script failed: .*missing tool frob/s);
    const ev = await waitFor('DotfilesFailed event', () =>
      eventsFor(h.store, 'alice').find((e) => e.reason === 'DotfilesFailed'),
    );
    expect(ev.note).toMatch(/bootstrap\.sh exited with 3/);
    await h.ready('alice');
  });
});
