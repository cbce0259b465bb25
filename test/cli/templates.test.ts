// Image templates, rollout restart and editor settings through the real binary against a real
// `tidepool serve` (stub runtime: its builds are in memory, a package named missing-* fails):
// get imagetemplates, logs imagetemplate/NAME, a failing build named in describe, rollout
// restart of a template and of a workspace, settings export and import, serve --dotfiles.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startServe, tp, type Served } from './helpers.js';

let served: Served | undefined;
let env: NodeJS.ProcessEnv;
let scratch: string;
const run = (args: string[], input?: string) =>
  tp(args, { env, timeoutMs: 40_000, ...(input !== undefined ? { input } : {}) });

const MANIFESTS = `apiVersion: tidepool/v1
kind: ImageTemplate
metadata: {name: py}
spec:
  debianPackages: [python3-venv]
  npmPackages: [typescript]
---
apiVersion: tidepool/v1
kind: Workspace
metadata: {name: alice}
spec: {image: py, resources: {cpu: 1, memory: 512Mi}}
`;

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-cli-templates-'));
  const dataDir = join(scratch, 'data');
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') });
  served = await startServe(dataDir, base, [
    '--runtime',
    'stub',
    '--proxy',
    'memory',
    '--dotfiles',
    'https://git.example/dots.git#main',
  ]);
  env = { ...base, TIDEPOOL_SERVER: served.address, TIDEPOOL_DATA_DIR: dataDir };
}, 90_000);

afterAll(async () => {
  await served?.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('image templates from the CLI', () => {
  it('applies a template and a workspace on it; get, logs and describe show the build', async () => {
    const a = await run(['apply', '-f', '-'], MANIFESTS);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/imagetemplate\/py created/);
    const w = await run(['wait', '--for=condition=Ready', 'workspace/alice', '--timeout=30s']);
    expect(w.code).toBe(0);
    const g = await run(['get', 'it']);
    expect(g.stdout.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+READY\s+BASE\s+IMAGE\s+AGE$/);
    expect(g.stdout).toMatch(/^py\s+Ready\s+True\s+default\s+tidepool-tpl-py-g1-\w+/m);
    const log = await run(['logs', 'imagetemplate/py']);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/install python3-venv/);
    expect(log.stdout).toMatch(/build succeeded/);
  });

  it('a failing package is named; rollout restart builds again and makes a workspace again from a new image', async () => {
    const p = await run(['patch', 'it', 'py', '--type', 'merge', '-p', '{"spec":{"npmPackages":["missing-tool"]}}']);
    expect(p.code).toBe(0);
    await until(
      'Failed',
      async () => (await run(['get', 'it', 'py', '-o', 'jsonpath={.status.phase}'])).stdout.trim() === 'Failed',
    );
    const d = await run(['describe', 'imagetemplate', 'py']);
    expect(d.stdout).toMatch(/BuildFailed/);
    expect(d.stdout).toMatch(/npm package "missing-tool"/);
    const r = await run(['rollout', 'restart', 'imagetemplate/py']);
    expect(r.stdout.trim()).toBe('imagetemplate/py restarted');
    const bad = await run(['rollout', 'restart', 'port/x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/takes workspaces and imagetemplates/);

    await run(['patch', 'it', 'py', '--type', 'merge', '-p', '{"spec":{"npmPackages":["typescript","eslint"]}}']);
    await until('generation 3 built', async () =>
      (await run(['get', 'it', 'py', '-o', 'jsonpath={.status.image}'])).stdout.includes('-g3-'),
    );
    await until(
      'UpdateWaiting',
      async () =>
        (
          await run(['get', 'ws', 'alice', '-o', 'jsonpath={.status.conditions[?(@.type=="ImageApplied")].reason}'])
        ).stdout.trim() === 'UpdateWaiting',
    );
    expect((await run(['rollout', 'restart', 'ws', 'alice'])).stdout.trim()).toBe('workspace/alice restarted');
    await until(
      'ImageApplied again',
      async () =>
        (
          await run(['get', 'ws', 'alice', '-o', 'jsonpath={.status.conditions[?(@.type=="ImageApplied")].reason}'])
        ).stdout.trim() === 'Applied',
    );
  });
});

describe('settings from the CLI', () => {
  it('imports a file and exports it again; a bad one is refused naming the field', async () => {
    const file = join(scratch, 'settings.yaml');
    await writeFile(
      file,
      'apiVersion: tidepool/v1\nkind: EditorSettings\nfiles:\n  settings.json: {content: "{\\"editor.fontSize\\": 15}", mtime: 1800000000}\nextensions: [vscodevim.vim]\n',
    );
    const i = await run(['settings', 'import', '-f', file]);
    expect(i.stdout.trim()).toBe('editor settings imported (1 files, 1 extensions)');
    const out = join(scratch, 'out.json');
    await run(['settings', 'export', '-o', 'json', '--file', out]);
    const back = JSON.parse(await readFile(out, 'utf8'));
    expect(back.files['settings.json']).toEqual({ content: '{"editor.fontSize": 15}', mtime: 1800000000 });
    expect(back.extensions).toEqual(['vscodevim.vim']);
    await writeFile(file, 'apiVersion: tidepool/v1\nkind: EditorSettings\nfiles: {}\nextensions: [NOT VALID]\n');
    const bad = await run(['settings', 'import', '-f', file]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/extensions/);
  });

  it('serve --dotfiles is the default of a new workspace, and {} opts out', async () => {
    await run(
      ['apply', '-f', '-'],
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: bob}\nspec: {image: minimal, source: {dotfiles: {}}}\n',
    );
    await run(['wait', '--for=condition=Ready', 'workspace/bob', '--timeout=30s']);
    const bob = await run([
      'get',
      'ws',
      'bob',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="DotfilesReady")].reason}',
    ]);
    expect(bob.stdout.trim()).toBe('');
    // The stub runtime runs no commands: the server's dotfiles are planned and then said to be impossible.
    await run(
      ['apply', '-f', '-'],
      'apiVersion: tidepool/v1\nkind: Workspace\nmetadata: {name: carol}\nspec: {image: minimal}\n',
    );
    await run(['wait', '--for=condition=Ready', 'workspace/carol', '--timeout=30s']);
    const carol = await run([
      'get',
      'ws',
      'carol',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="DotfilesReady")].message}',
    ]);
    expect(carol.stdout).toMatch(/dotfiles https:\/\/git\.example\/dots\.git at main/);
  });
});
