// devcontainer.json: what a file says (JSON with comments, trailing commas) as a plan, and a
// repository with one through the controller with the stub runtime, whose exec runs the real
// scripts (clone, env, commands) with the host's sh and git in a scratch home: its ports become
// Ports owned by the workspace, its env reaches the post-create command, its features and an
// extension that cannot be installed are named in DevcontainerApplied.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planDevcontainer } from '../../controller/devcontainer/plan.js';
import type { StubExec } from '../../drivers/runtime/stub/index.js';
import { cond, harness, waitFor, workspace, type Harness } from './helpers.js';

const FILE = `// a devcontainer as VS Code writes it
{
  "name": "demo",
  "image": "mcr.microsoft.com/devcontainers/typescript-node:20",
  "features": { "ghcr.io/devcontainers/features/go:1": {} },
  "forwardPorts": [3000, "5000", 8080, "db:5432"],
  "portsAttributes": { "3000": { "label": "web" } },
  "containerEnv": { "GREETING": "hello from devcontainer" },
  "remoteEnv": { "EDITOR_HINT": "vim" },
  "postCreateCommand": "echo \\"$GREETING\\" > created.txt", /* trailing comma next */
  "postStartCommand": ["sh", "-c", "echo started >> starts.txt"],
  "customizations": { "vscode": { "settings": { "editor.tabSize": 3 }, "extensions": ["ms-python.python"] } },
}
`;

describe('devcontainer plan', () => {
  it('reads commands, ports, env, settings and extensions, and names what it cannot honour', () => {
    const plan = planDevcontainer(FILE);
    expect(plan.postCreate).toEqual([{ shell: 'echo "$GREETING" > created.txt' }]);
    expect(plan.postStart).toEqual([{ argv: ['sh', '-c', 'echo started >> starts.txt'] }]);
    expect(plan.ports).toEqual([{ port: 3000, label: 'web' }, { port: 5000 }]);
    expect(plan.env).toEqual({ GREETING: 'hello from devcontainer', EDITOR_HINT: 'vim' });
    expect(plan.settings).toEqual({ 'editor.tabSize': 3 });
    expect(plan.extensions).toEqual(['ms-python.python']);
    expect(plan.unsupported).toEqual(['image', 'features']);
    expect(plan.problems.join('\n')).toMatch(/8080/);
    expect(plan.problems.join('\n')).toMatch(/db:5432/);
  });

  it('a file that is not JSON with comments is a problem, not an exception; named commands run in order', () => {
    expect(planDevcontainer('{ "a": ').problems[0]).toMatch(/not JSON with comments/);
    const p = planDevcontainer('{"postCreateCommand": {"a": "echo a", "b": ["echo", "b"]}, "postAttachCommand": 3}');
    expect(p.postCreate).toEqual([{ shell: 'echo a' }, { argv: ['echo', 'b'] }]);
    expect(p.problems).toEqual(['postAttachCommand must be a string, an array of strings or an object of those']);
  });
});

describe('devcontainer through the controller', () => {
  let h: Harness;
  let scratch: string;
  const homeOf = (name: string) => join(scratch, 'home', name);
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tp-devcontainer-'));
    await mkdir(homeOf('alice'), { recursive: true });
    // The guest's /run is the scratch folder's: nothing is written to this host's /run.
    const localExec: StubExec = (name, argv, opts) => {
      const args = argv.map((a) => a.replaceAll('/run/tidepool', join(scratch, 'run')));
      const home = homeOf(name);
      const cwd = opts.cwd?.replace(/^\/home\/dev/, home) ?? home;
      const r = spawnSync(args[0]!, args.slice(1), {
        cwd: spawnSync('test', ['-d', cwd]).status === 0 ? cwd : home,
        env: { ...opts.env, HOME: home, PATH: '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { exitCode: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    };
    h = await harness({ exec: localExec });
  });
  afterEach(async () => {
    await h.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('publishes its ports as Ports of the workspace, runs its commands with its env, names its features and the missing extension', async () => {
    const repo = join(scratch, 'repo');
    await mkdir(join(repo, '.devcontainer'), { recursive: true });
    await writeFile(join(repo, '.devcontainer', 'devcontainer.json'), FILE);
    const git = (...a: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: repo, stdio: 'pipe' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'devcontainer');
    await h.start();
    await h.store.transaction((tx) => tx.create(workspace('alice', { source: { git: { url: `file://${repo}` } } })));
    const ws = await waitFor('DevcontainerApplied', () => {
      const w = h.ws('alice');
      const c = cond(w, 'DevcontainerApplied');
      return c && c.reason !== 'Pending' ? w : undefined;
    });
    const c = cond(ws, 'DevcontainerApplied')!;
    expect(c).toMatchObject({ status: 'False', reason: 'PartlyApplied' });
    expect(c.message).toMatch(/not honoured .*: image, features/);
    expect(c.message).toMatch(/spec\.image "default" stands in/);
    expect(c.message).toMatch(/extensions not installed .*ms-python\.python/);
    const project = join(homeOf('alice'), 'project');
    expect(await readFile(join(project, 'created.txt'), 'utf8')).toBe('hello from devcontainer\n');
    expect(await readFile(join(project, 'starts.txt'), 'utf8')).toBe('started\n');
    expect(await readFile(join(homeOf('alice'), '.config/tidepool/devcontainer.env'), 'utf8')).toMatch(
      /export GREETING='hello from devcontainer'/,
    );
    expect(await readFile(join(homeOf('alice'), '.bashrc'), 'utf8')).toMatch(/devcontainer\.env/);
    const machine = JSON.parse(
      await readFile(join(homeOf('alice'), '.local/share/code-server/Machine/settings.json'), 'utf8'),
    );
    expect(machine).toEqual({ 'editor.tabSize': 3 });
    const ports = await waitFor('two Ports', () => {
      const p = h.store.portsOf('alice');
      return p.length === 2 ? p : undefined;
    });
    expect(ports.map((p) => [p.metadata.name, p.spec.port, p.metadata.annotations?.['tidepool/label']]).sort()).toEqual(
      [
        ['alice-3000', 3000, 'web'],
        ['alice-5000', 5000, undefined],
      ],
    );
    expect(ports[0]!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Workspace', name: 'alice' });
    await h.ready('alice');
  });
});
