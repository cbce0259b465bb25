// `tidepool serve` on a port something else holds: the error names the port, the flag that
// set it and the holder's pid and command (found in /proc), for Caddy's ports and for the
// API's own listener; it does not send the user off to install caddy and dnsmasq.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv, closedPort, tp } from './helpers.js';

let scratch: string;
let holder: ChildProcess;
let heldPort: number;
const env = () =>
  cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_USER: 'ports', TIDEPOOL_PASSWORD: 'ports-not-secret' });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tp-port-taken-'));
  // A real listener in a process of its own, on loopback, that prints its port.
  holder = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port)); setTimeout(() => process.exit(0), 120000);",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  heldPort = await new Promise<number>((resolve, reject) => {
    holder.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    holder.once('exit', () => reject(new Error('the port holder exited before listening')));
  });
});

afterAll(async () => {
  if (holder?.pid && holder.exitCode === null) process.kill(holder.pid, 'SIGKILL');
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('serve on a port that is taken', () => {
  it("Caddy's app port: names the port, --app-port and the holder's pid", async () => {
    const [ws, preview] = [await closedPort(), await closedPort()];
    const r = await tp(
      [
        'serve',
        '--data-dir',
        join(scratch, 'caddy'),
        '--listen',
        '127.0.0.1:0',
        '--runtime',
        'stub',
        '--proxy',
        'caddy',
        '--app-port',
        `127.0.0.1:${heldPort}`,
        '--workspace-port',
        `127.0.0.1:${ws}`,
        '--preview-port',
        `127.0.0.1:${preview}`,
      ],
      { env: env(), timeoutMs: 40_000 },
    );
    expect(r.code, `serve did not exit with 1; its stderr ends: ${r.stderr.slice(-3000)}`).toBe(1);
    expect(r.stderr).toContain(
      `error: cannot start the Caddy proxy: port ${heldPort} (--app-port 127.0.0.1:${heldPort}) is already in use (held by pid ${holder.pid}: ${process.execPath} -e`,
    );
    expect(r.stderr).toContain('choose another port with --app-port');
    expect(r.stderr).not.toContain('installed?');
  }, 60_000);

  it("the API's own listener: names the port, --listen and the holder's pid", async () => {
    const r = await tp(
      [
        'serve',
        '--data-dir',
        join(scratch, 'api'),
        '--listen',
        `127.0.0.1:${heldPort}`,
        '--runtime',
        'stub',
        '--proxy',
        'memory',
      ],
      { env: env() },
    );
    expect(r.code, `serve did not exit with 1; its stderr ends: ${r.stderr.slice(-3000)}`).toBe(1);
    expect(r.stderr).toContain(
      `error: cannot listen on 127.0.0.1:${heldPort}: port ${heldPort} (--listen 127.0.0.1:${heldPort}) is already in use (held by pid ${holder.pid}: ${process.execPath} -e`,
    );
  });
});

describe('make run', () => {
  it('passes ARGS to serve, so another port can be chosen', () => {
    // -n prints the commands without running them (no host setup, no build).
    const out = execFileSync('make', ['-n', '-s', 'run', 'ARGS=--app-port 18080 --workspace-port 18081'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const serve = out.split('\n').find((l) => l.includes('dist/cli/main.js serve'));
    expect(serve).toMatch(/ --app-port 18080 --workspace-port 18081$/);
  });
});
