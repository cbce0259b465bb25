// examples/ says what works: every command of examples/README.md is run as written (bash, with
// `tidepool` on PATH being the real binary), the first block against a serve that syncs a copy of
// the folder as `make run` does, the second against one that does not; each must exit 0. And
// the URLs in the manifests' comments name the ports the proxy serves them on.
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../drivers/proxy/types.js';
import { BIN, ROOT, cleanEnv, startServe, type Served } from './helpers.js';

let scratch: string;
const served: Served[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-examples-'));
  await mkdir(join(scratch, 'bin'));
  await symlink(BIN, join(scratch, 'bin', 'tidepool'));
});

afterAll(async () => {
  for (const s of served) await s.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The ```sh blocks of examples/README.md, each as its command lines. */
async function shellBlocks(): Promise<string[][]> {
  const text = await readFile(join(ROOT, 'examples', 'README.md'), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** A checkout-like folder with a copy of examples/, a serve on it, and how to run a line there. */
async function setUp(name: string, sync: boolean) {
  const root = join(scratch, name);
  await cp(join(ROOT, 'examples'), join(root, 'examples'), { recursive: true });
  await mkdir(join(root, 'home'));
  const base = cleanEnv({ XDG_DATA_HOME: join(root, 'xdg'), HOME: join(root, 'home') });
  const dataDir = join(root, 'data');
  const s = await startServe(dataDir, base, [
    '--runtime',
    'stub',
    '--proxy',
    'memory',
    ...(sync ? ['--sync-dir', `examples=${join(root, 'examples')}`, '--sync-interval', '1s'] : []),
  ]);
  served.push(s);
  const env = {
    ...base,
    PATH: `${join(scratch, 'bin')}:${process.env.PATH}`,
    TIDEPOOL_SERVER: s.address,
    TIDEPOOL_DATA_DIR: dataDir,
  };
  return (line: string) => {
    const r = spawnSync('bash', ['-c', line], { cwd: root, env, encoding: 'utf8', timeout: 150_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
}

describe('examples/README.md', () => {
  it('has the two blocks: under make run, and without a sync', async () => {
    expect((await shellBlocks()).length).toBe(2);
  });

  it('every command under `make run` (the folder synced) works as written', async () => {
    const [block] = await shellBlocks();
    const run = await setUp('synced', true);
    for (const line of block!) {
      const r = run(line);
      expect({ line, code: r.code, out: r.out }).toMatchObject({ line, code: 0 });
    }
    // What the text says is refused, is.
    const refused = run('tidepool delete -f examples/');
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('is managed by sync "examples"');
  }, 300_000);

  it('every command without a sync works as written', async () => {
    const [, block] = await shellBlocks();
    const run = await setUp('plain', false);
    for (const line of block!) {
      const r = run(line);
      expect({ line, code: r.code, out: r.out }).toMatchObject({ line, code: 0 });
    }
  }, 300_000);
});

describe('URLs in the examples', () => {
  it('name the preview port for a Port and the workspace port for an IDE', async () => {
    const text = await readFile(join(ROOT, 'examples', 'workspace.yaml'), 'utf8');
    const urls = [...text.matchAll(/http:\/\/localhost:(\d+)(\/workspace\/[^\s]*)/g)];
    expect(urls.length).toBeGreaterThan(0);
    for (const [, port, path] of urls) {
      const want = /\/port\/\d+\//.test(path!) ? DEFAULT_PORTS.preview : DEFAULT_PORTS.workspace;
      expect({ path, port: Number(port) }).toEqual({ path, port: want });
    }
  });
});
