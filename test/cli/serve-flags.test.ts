// `tidepool serve` flags through the real binary: a bad value is one clear line on stderr and
// exit 1 before anything starts; --help lists the flags; /app/config.json tells the UI where
// the workspaces are, from --workspace-port or --workspace-url.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv, startServe, tp, type Served } from './helpers.js';

let scratch: string;
const started: Served[] = [];
const USER = 'flags';
const PASSWORD = 'flags-password-not-secret';
const env = () => cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-serve-flags-'));
});

afterAll(async () => {
  for (const s of started) await s.proc.stop('SIGKILL').catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('serve refuses a bad flag with a clear error and exit 1', () => {
  // Each runs with the stub runtime and memory proxy unless the case says otherwise, so that
  // a flag that is wrongly accepted makes serve come up (and the test time out) instead of exiting.
  const cases: { args: string[]; error: string }[] = [
    { args: ['--runtime', 'foo'], error: 'error: --runtime must be one of incus, tart, stub, got "foo"' },
    { args: ['--proxy', 'nginx'], error: 'error: --proxy must be one of caddy, memory, got "nginx"' },
    { args: ['--app-port', '0'], error: 'error: --app-port must be a port or host:port (1..65535), got "0"' },
    {
      args: ['--workspace-port', '70000'],
      error: 'error: --workspace-port must be a port or host:port (1..65535), got "70000"',
    },
    {
      args: ['--memory-budget', 'lots'],
      error: 'error: --memory-budget must be a quantity such as 16Gi or 8192Mi, got "lots"',
    },
    {
      args: ['--resync-period', '-1'],
      error: 'error: --resync-period must be a positive duration such as 30s, 5m or 1h, got "-1"',
    },
    {
      args: ['--resync-period', '0s'],
      error: 'error: --resync-period must be a positive duration such as 30s, 5m or 1h, got "0s"',
    },
    {
      args: ['--sync-interval', 'soon'],
      error: 'error: --sync-interval must be a positive duration such as 30s, 5m or 1h, got "soon"',
    },
    { args: ['--max-running', '1.5'], error: 'error: --max-running must be a positive whole number, got "1.5"' },
    { args: ['--cpu-budget', 'many'], error: 'error: --cpu-budget must be a positive number, got "many"' },
    {
      args: ['--workspace-url', 'ftp://ide.example.com'],
      error: 'error: --workspace-url must be an http(s) URL, got "ftp://ide.example.com"',
    },
    {
      args: ['--app-port', '8080', '--workspace-port', '8080'],
      error:
        'error: --app-port :8080 and --workspace-port :8080 take the same port: they must differ, as the API and the workspaces are separate origins on purpose',
    },
    {
      // One on every interface covers the other.
      args: ['--app-port', '8080', '--workspace-port', '127.0.0.1:8080'],
      error:
        'error: --app-port :8080 and --workspace-port 127.0.0.1:8080 take the same port: they must differ, as the API and the workspaces are separate origins on purpose',
    },
  ];

  for (const { args, error } of cases) {
    it(args.join(' '), async () => {
      const dataDir = join(scratch, `data-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}`);
      const withDrivers = args.includes('--runtime')
        ? ['--proxy', 'memory']
        : args.includes('--proxy')
          ? ['--runtime', 'stub']
          : ['--runtime', 'stub', '--proxy', 'memory'];
      const r = await tp(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...withDrivers, ...args], {
        env: env(),
      });
      expect(r.stderr).toBe(`${error}\n`);
      expect(r.code).toBe(1);
      // Refused before anything started: no log, and nothing written to the data directory.
      expect(r.stdout).toBe('');
      expect(existsSync(dataDir)).toBe(false);
    });
  }

  it('--runtime incus with a socket that is not there names the socket and suggests --runtime stub', async () => {
    const socket = join(scratch, 'no-incus', 'unix.socket');
    const dataDir = join(scratch, 'data-incus');
    const r = await tp(
      [
        'serve',
        '--data-dir',
        dataDir,
        '--listen',
        '127.0.0.1:0',
        '--runtime',
        'incus',
        '--incus-socket',
        socket,
        '--proxy',
        'memory',
      ],
      { env: env() },
    );
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter(Boolean);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: /);
    expect(errors[0]).toContain(`the Incus socket ${socket} does not exist`);
    expect(errors[0]).toContain('--incus-socket');
    expect(errors[0]).toContain('--runtime stub');
    // The API had started; it was stopped again, and Tidepool never said it was up.
    expect(r.stdout).not.toContain('"ready":true');
  });
});

describe('one serve per data directory', () => {
  it('a second serve on the same data directory is refused naming the first; after a kill -9 the lock is taken over', async () => {
    const dataDir = join(scratch, 'data-lock');
    const first = await startServe(dataDir, env());
    started.push(first);
    const second = await tp(
      ['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--runtime', 'stub', '--proxy', 'memory'],
      { env: env() },
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `error: another tidepool serve (pid ${first.proc.pid}) runs on the data directory ${dataDir}; stop it first, or use another --data-dir\n`,
    );
    expect(second.stdout).not.toContain('"ready":true');
    // The refused one did not take the first one's store or lock away.
    expect((await tp(['--server', first.address, 'get', 'workspaces'], { env: env() })).code).toBe(0);
    await first.proc.stop('SIGKILL');
    const third = await startServe(dataDir, env());
    started.push(third);
    expect(third.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('serve --help', () => {
  it('lists the flags of every component', async () => {
    const r = await tp(['serve', '--help'], { env: env() });
    expect(r.code).toBe(0);
    const flags = [
      '--listen',
      '--runtime',
      '--proxy',
      '--app-port',
      '--workspace-port',
      '--caddy-admin',
      '--caddy-binary',
      '--incus-socket',
      '--incus-url',
      '--incus-cert',
      '--incus-key',
      '--incus-server-cert',
      '--incus-project',
      '--tart-path',
      '--resync-period',
      '--max-running',
      '--cpu-budget',
      '--memory-budget',
      '--sync-dir',
      '--sync-interval',
      '--sync-allow-empty-prune',
      '--workspace-url',
    ];
    const listed = new Set([...r.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
    for (const f of flags) expect(listed, f).toContain(f);
    expect(r.stdout).toMatch(/--runtime <name> +where workspaces run: incus, tart, stub/);
    expect(r.stdout).toMatch(/--proxy <name> +how workspaces are reached: caddy, memory/);
  });
});

describe('/app/config.json tells the UI where the workspaces are', () => {
  const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const config = async (extra: string[]) => {
    const s = await startServe(join(scratch, `cfg-${started.length}`), env(), [
      '--runtime',
      'stub',
      '--proxy',
      'memory',
      ...extra,
    ]);
    started.push(s);
    expect((await fetch(`${s.address}/app/config.json`)).status).toBe(401);
    const res = await fetch(`${s.address}/app/config.json`, { headers: { authorization: auth } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    await s.proc.stop('SIGTERM');
    return body;
  };

  beforeAll(() => {
    // serve only serves /app/ (and config.json) when the UI is built.
    if (existsSync(join(ROOT, 'web', 'dist', 'index.html'))) return;
    execFileSync('flock', ['/tmp/tp-build.lock', 'npm', 'run', '--silent', 'build:web'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  });

  it('the workspace port, 8081 by default', async () => {
    // This serve has no access log (the memory proxy), and says so: the UI then shows no last access.
    expect(await config([])).toEqual({
      workspacePort: 8081,
      imageTemplates: ['default', 'minimal'],
      reportsAccess: false,
    });
  });

  it('the port of --workspace-port', async () => {
    expect(await config(['--workspace-port', '127.0.0.1:9091'])).toMatchObject({ workspacePort: 9091 });
  });

  it('the URL of --workspace-url', async () => {
    expect(await config(['--workspace-url', 'https://ide.example.com'])).toEqual({
      workspaceBaseUrl: 'https://ide.example.com',
      imageTemplates: ['default', 'minimal'],
      reportsAccess: false,
    });
  });

  it('the image templates, with those of --image (for the create form)', async () => {
    expect((await config(['--image', 'ide=tidepool-ide'])).imageTemplates).toEqual(['default', 'ide', 'minimal']);
  });
});
