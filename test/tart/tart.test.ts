// The Tart runtime driver against test/fixtures/fake-tart, which follows tart's CLI contract
// (arguments, JSON output, exit codes) and keeps its VMs in a temp TART_HOME.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import {
  createTartRuntime,
  tartPrefix,
  type TartRuntime,
  type TartRuntimeOptions,
} from '../../drivers/runtime/tart/index.js';
import { TART_WORKSPACE_IMAGE, withImages } from '../../drivers/runtime/images.js';
import { RuntimeError } from '../../drivers/runtime/types.js';
import { poll } from '../poll.js';

const FAKE_TART = fileURLToPath(new URL('../fixtures/fake-tart', import.meta.url));
const GiB = 2 ** 30;
let home: string;
let logDir: string;
const drivers: TartRuntime[] = [];
let seq = 0;

const tart = (...args: string[]) =>
  execa(FAKE_TART, args, { env: { TART_HOME: home }, reject: false, stdin: 'ignore' });
const calls = (): string[][] =>
  readFileSync(join(home, 'fake-calls.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
const failNext = (n: number, command: string, exitCode: number, stderr: string) =>
  writeFileSync(join(home, 'fake-fail.json'), JSON.stringify([{ count: n, command, exitCode, stderr }]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls `fn` (vitest's vi.waitFor) until it returns something other than undefined. */
const until = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> =>
  poll(what, fn, timeoutMs) as Promise<T>;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function driver(extra: Partial<TartRuntimeOptions> = {}): TartRuntime {
  const d = createTartRuntime({
    tidepoolId: `tart-test-${++seq}`,
    tartPath: FAKE_TART,
    tartHome: home,
    logDir,
    stopTimeoutSeconds: 5,
    startTimeoutSeconds: 10,
    pollIntervalMs: 200,
    ...extra,
  });
  drivers.push(d);
  return d;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'tp-fake-tart-'));
  logDir = join(home, 'logs');
  expect((await tart('create', TART_WORKSPACE_IMAGE, '--linux')).exitCode).toBe(0);
});

afterEach(() => rmSync(join(home, 'fake-fail.json'), { force: true }));

afterAll(async () => {
  for (const d of drivers) await d.close?.();
  // Any `tart run` the tests left running (they were started by this file's drivers): end it by pid.
  for (const vm of readdirSync(join(home, 'vms'))) {
    try {
      const pid = Number(readFileSync(join(home, 'vms', vm, 'run.pid'), 'utf8'));
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // not running
    }
  }
  rmSync(home, { recursive: true, force: true });
});

describe('Tart runtime driver (fake tart)', () => {
  it('full lifecycle: create+start → Running with an IP; stop; start; delete', async () => {
    const d = driver();
    const vm = d.vmName('alice');
    expect(vm.startsWith(tartPrefix(`tart-test-${seq}`))).toBe(true);

    await d.create({ name: 'alice', image: 'default', cpu: 2, memoryBytes: 4 * GiB, start: true });
    const mine = calls().filter((c) => c.includes(vm));
    expect(mine).toContainEqual(['clone', TART_WORKSPACE_IMAGE, vm]);
    expect(mine).toContainEqual(['set', vm, '--cpu', '2', '--memory', '4096']);
    expect(mine).toContainEqual(['run', vm, '--no-graphics']);
    const got = JSON.parse((await tart('get', vm, '--format', 'json')).stdout) as { CPU: number; Memory: number };
    expect(got).toMatchObject({ CPU: 2, Memory: 4096 });

    const running = await until('an IP', async () => {
      const v = (await d.list()).find((x) => x.name === 'alice');
      return v?.ip ? v : undefined;
    });
    expect(running).toMatchObject({ name: 'alice', state: 'Running' });
    expect(running.ip).toMatch(/^192\.168\.64\.\d+$/);
    const pid = d.runPid('alice');
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid!)).toBe(true);

    await d.start('alice'); // running: nothing to do
    expect(calls().filter((c) => c[0] === 'run' && c[1] === vm)).toHaveLength(1);

    await d.stop('alice');
    expect(await d.list()).toEqual([{ name: 'alice', state: 'Stopped' }]);
    expect(d.runPid('alice')).toBeUndefined();
    await until('the run process to end', async () => (alive(pid!) ? undefined : true));
    await d.stop('alice'); // stopped: exit code 2 from tart, not an error

    await d.start('alice');
    expect((await d.list())[0]).toMatchObject({ name: 'alice', state: 'Running' });

    await d.delete('alice'); // running: stopped first
    expect(await d.list()).toEqual([]);
    expect(
      JSON.parse((await tart('list', '--format', 'json')).stdout).map((e: { Name: string }) => e.Name),
    ).not.toContain(vm);
    await d.delete('alice'); // missing: fine
  });

  it('openExec runs a command through `tart exec`: output, stdin, environment, exit code; a stopped VM is refused', async () => {
    const d = driver();
    await d.create({ name: 'ex', image: 'default', cpu: 1, memoryBytes: GiB, start: true });
    const s = await d.openExec!('ex', {
      command: ['sh', '-c', 'cat; echo "v=$TP_V"; echo oops >&2; exit 3'],
      tty: false,
      env: { TP_V: 'x1' },
    });
    const out: Record<string, string> = { stdout: '', stderr: '' };
    s.onOutput((stream, data) => {
      out[stream] += Buffer.from(data).toString();
    });
    s.write(Buffer.from('from stdin\n'));
    s.endInput();
    expect(await s.exitCode).toBe(3);
    expect(out.stdout).toBe('from stdin\nv=x1\n');
    expect(out.stderr).toBe('oops\n');
    expect(calls().some((c) => c[0] === 'exec' && c.includes(d.vmName('ex')))).toBe(true);
    await d.stop('ex');
    await expect(d.openExec!('ex', { command: ['true'], tty: false })).rejects.toMatchObject({ reason: 'NotRunning' });
    await d.delete('ex');
  });

  it('create does not clone over an existing VM (tart clone silently replaces)', async () => {
    const d = driver();
    await d.create({ name: 'dup', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    const before = calls().filter((c) => c[0] === 'clone').length;
    const err = await d
      .create({ name: 'dup', image: 'default', cpu: 1, memoryBytes: GiB, start: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    expect(calls().filter((c) => c[0] === 'clone').length).toBe(before);
    expect(await d.list()).toEqual([{ name: 'dup', state: 'Stopped' }]);
    await d.delete('dup');
  });

  it('exit code 2: already running, not running and missing are handled as the contract says', async () => {
    const d = driver();
    await d.create({ name: 'two', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    // Started behind the driver's back (e.g. before a Tidepool restart): start() is a no-op.
    const other = driver({ tidepoolId: `tart-test-${seq}` });
    await other.start('two');
    await d.start('two');
    expect(d.runPid('two')).toBeUndefined(); // d did not spawn a second `tart run`
    expect(calls().filter((c) => c[0] === 'run' && c[1] === d.vmName('two'))).toHaveLength(1);
    // A driver that did not start it can still stop it.
    await d.stop('two');
    expect((await d.list())[0]).toMatchObject({ state: 'Stopped' });
    await d.stop('two');
    // Missing VM: stop and start say NotFound, delete is fine.
    await expect(d.stop('ghost')).rejects.toMatchObject({ reason: 'NotFound', code: 404 });
    await expect(d.start('ghost')).rejects.toMatchObject({ reason: 'NotFound', code: 404 });
    await d.delete('ghost');
    await d.delete('two');
  });

  it("list() shows only this Tidepool's VMs", async () => {
    const a = driver();
    const b = driver();
    await a.create({ name: 'same', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    await b.create({ name: 'same', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    await tart('clone', TART_WORKSPACE_IMAGE, 'my-own-vm');
    await tart('clone', 'ghcr.io/cirruslabs/debian:latest', 'from-oci'); // also puts an OCI entry in `tart list`
    expect(await a.list()).toEqual([{ name: 'same', state: 'Stopped' }]);
    expect(await b.list()).toEqual([{ name: 'same', state: 'Stopped' }]);
    await a.delete('same');
    expect(await b.list()).toEqual([{ name: 'same', state: 'Stopped' }]);
    await b.delete('same');
    await tart('delete', 'my-own-vm', 'from-oci');
  });

  it("failures surface as RuntimeError with tart's stderr, and leave nothing half-made", async () => {
    const d = driver();
    failNext(1, 'clone', 1, 'Error: failed to pull image: connection reset by peer');
    const clone = await d
      .create({ name: 'f1', image: 'default', cpu: 1, memoryBytes: GiB, start: true })
      .catch((e: unknown) => e);
    expect(clone).toBeInstanceOf(RuntimeError);
    expect((clone as RuntimeError).message).toContain('failed to pull image: connection reset by peer');
    expect((clone as RuntimeError).reason).toBe('CloneFailed');
    expect(await d.list()).toEqual([]);

    failNext(1, 'set', 1, 'Error: memory size exceeds host memory');
    const set = await d
      .create({ name: 'f1', image: 'default', cpu: 1, memoryBytes: GiB, start: true })
      .catch((e: unknown) => e);
    expect((set as RuntimeError).message).toContain('memory size exceeds host memory');
    expect(await d.list()).toEqual([]); // the clone was removed again

    // The image template maps to a VM tart does not have: exit 2 from clone.
    const noImage = driver({ imageMap: withImages({ tart: { gone: { source: 'no-such-base-vm' } } }) });
    const gone = await noImage
      .create({ name: 'f2', image: 'gone', cpu: 1, memoryBytes: GiB, start: false })
      .catch((e: unknown) => e);
    expect(gone).toMatchObject({ reason: 'ImageNotFound', code: 404 });
    expect((gone as RuntimeError).message).toContain('no-such-base-vm');
    await expect(d.create({ name: 'f3', image: 'nope', cpu: 1, memoryBytes: GiB, start: false })).rejects.toMatchObject(
      { reason: 'UnknownImage' },
    );

    // tart run fails at once: start() reports its output.
    await d.create({ name: 'f4', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    failNext(1, 'run', 1, 'Error: The virtual machine failed to start: VZErrorDomain Code=2');
    const run = await d.start('f4').catch((e: unknown) => e);
    expect(run).toMatchObject({ reason: 'StartFailed' });
    expect((run as RuntimeError).message).toContain('VZErrorDomain Code=2');
    expect((await d.list())[0]).toMatchObject({ state: 'Stopped' });

    // tart list failing: list() rejects with its words.
    failNext(1, 'list', 1, 'Error: permission denied: ~/.tart');
    await expect(d.list()).rejects.toThrow(/permission denied/);

    // delete failing for another reason than "missing" is an error.
    failNext(1, 'delete', 1, 'Error: resource busy');
    await expect(d.delete('f4')).rejects.toThrow(/resource busy/);
    await d.delete('f4');
    expect(await d.list()).toEqual([]);
  });

  it('a tart that does not exist is RuntimeUnavailable, not a crash', async () => {
    const d = driver({ tartPath: join(home, 'no-such-tart') });
    await expect(d.list()).rejects.toMatchObject({ reason: 'RuntimeUnavailable' });
    await expect(
      d.create({ name: 'x', image: 'default', cpu: 1, memoryBytes: GiB, start: true }),
    ).rejects.toMatchObject({ reason: 'RuntimeUnavailable' });
    await expect(d.stop('x')).rejects.toBeInstanceOf(RuntimeError);
  });

  it('a VM that does not stop gracefully is forced after the timeout', async () => {
    const d = driver({ stopTimeoutSeconds: 1, env: { FAKE_TART_STUBBORN: '1' } });
    await d.create({ name: 'stubborn', image: 'default', cpu: 1, memoryBytes: GiB, start: true });
    await d.stop('stubborn');
    expect((await d.list())[0]).toMatchObject({ state: 'Stopped' });
    await d.delete('stubborn');
  });

  it("subscribe() reports a VM stopped or deleted behind Tidepool's back", async () => {
    const d = driver();
    await d.create({ name: 'watched', image: 'default', cpu: 1, memoryBytes: GiB, start: true });
    await d.create({ name: 'cold', image: 'default', cpu: 1, memoryBytes: GiB, start: false });
    const seen: string[] = [];
    const unsubscribe = d.subscribe!((n) => seen.push(n));
    try {
      await sleep(300); // first poll: the baseline
      expect((await tart('stop', d.vmName('watched'))).exitCode).toBe(0);
      await until('the stop to be reported', async () => (seen.includes('watched') ? true : undefined));
      seen.length = 0;
      expect((await tart('delete', d.vmName('cold'))).exitCode).toBe(0);
      await until('the delete to be reported', async () => (seen.includes('cold') ? true : undefined));
      // Our own stop is not news from the run-process watcher (the poll may still see it).
      expect(seen.every((n) => n === 'cold' || n === 'watched')).toBe(true);
    } finally {
      unsubscribe();
    }
    await d.delete('watched');
  });
});
