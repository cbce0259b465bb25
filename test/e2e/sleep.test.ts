// Idle sleep end to end: `tidepool serve --runtime incus --proxy caddy --idle-tick 2s`, real
// containers, the real Caddy, and Debian's Chromium. A workspace with a short idle timeout falls
// asleep with its home intact; opening its IDE in Chromium shows the waking page and then the
// workbench; typing in the IDE's terminal keeps it awake past its timeout, and the tab left open
// without input does not; a CPU load and an exec session keep one awake; curl gets 503 with
// Retry-After and one line, and wakes it; making room puts the right workspace to sleep and
// never one without an idle timeout, and a refusal names every workspace that would have to stop.
// With TIDEPOOL_REQUIRE_INCUS set (make test), a missing Incus, IDE image or Chromium fails.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { CHROMIUM, launchChromium } from '../chromium.js';
import { cleanEnv, tp } from '../cli/helpers.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  AUTH,
  condition,
  freePorts,
  incus,
  inside,
  instancesOf,
  isReady,
  PASSWORD,
  presetId,
  startIncusServe,
  started,
  stopServe,
  USER,
  workspace,
  type IncusServe,
  type Obj,
} from './incus-helpers.js';

async function usable(): Promise<boolean> {
  if (!(await requireOrSkip('test/e2e/sleep'))) return false;
  const missing: string[] = [];
  if ((await incus(['image', 'show', IDE_IMAGE_ALIAS])).exitCode !== 0)
    missing.push(`the Incus image ${IDE_IMAGE_ALIAS}`);
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM}`);
  if (!missing.length) return true;
  const msg = `test/e2e/sleep: missing ${missing.join(' and ')} (scripts/setup-host.sh --with-chromium)`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}.`);
  return false;
}

const run = await usable();
let scratch: string;
let serve: IncusServe;
let api: Api;
let env: NodeJS.ProcessEnv;
let ID = '';
let browser: Browser | undefined;

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-sleep-'));
  const base = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'sleep');
  // A short tick so that a 20-30 s idle timeout is seen within seconds; three running at most, for making room.
  serve = await startIncusServe(dataDir, await freePorts(), base, 60_000, [
    '--idle-tick',
    '2s',
    '--max-running',
    '3',
    '--cpu-budget',
    '4',
  ]);
  api = new Api(serve.address);
  env = { ...base, TIDEPOOL_SERVER: serve.address, TIDEPOOL_USER: USER, TIDEPOOL_PASSWORD: PASSWORD };
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const s of started) await stopServe(s).catch((err: unknown) => console.error(`stopping serve: ${err}`));
  if (run && ID) {
    const gone = await deleteByTidepoolId(ID);
    if (gone.length) console.log(`test/e2e/sleep: cleaned up ${gone.length} instance(s): ${gone.join(', ')}`);
    await deleteVolumesByTidepoolId(ID);
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

const get = (name: string) => api.get('workspaces', name);
const vmStatus = async (name: string) => (await instancesOf(ID)).find((i) => i.name === instanceName(name, ID))?.status;
const ready = (name: string, ms = 240_000) =>
  until(`${name} Ready`, async () => ((await get(name)) && isReady(await get(name)) ? get(name) : undefined), ms, 250);
const asleep = (name: string, ms = 120_000) =>
  until(
    `${name} asleep`,
    async () => {
      const w = await get(name);
      return w?.status?.phase === 'Sleeping' && (await vmStatus(name)) === 'Stopped' ? w : undefined;
    },
    ms,
    500,
  );
async function eventsOf(name: string): Promise<{ reason: string; note: string }[]> {
  const r = await api.call('GET', '/api/v1/events');
  return (r.json.items as { regarding: { name: string }; reason: string; note: string }[]).filter(
    (e) => e.regarding.name === name,
  );
}
async function remove(...names: string[]): Promise<void> {
  for (const n of names) await api.delete('workspaces', n);
  await until(
    'deleted',
    async () => ((await Promise.all(names.map(get))).every((w) => !w) ? true : undefined),
    120_000,
    250,
  );
}
/** Still running after `ms` (checked every second): the phase and the container. */
async function awakeFor(name: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const w = await get(name);
    expect(w?.status?.phase, `${name} at ${Math.round((ms - (end - Date.now())) / 1000)} s`).toBe('Running');
    await new Promise((r) => setTimeout(r, 1000));
  }
  expect(await vmStatus(name)).toBe('Running');
}
/** What the usage sampler saw on the workspace's network over its last interval (for the log: the thresholds' margin). */
async function networkRate(name: string): Promise<string> {
  const r = await api.call('GET', '/api/v1/usage');
  const u = (r.json?.items ?? []).find((i: { name: string }) => i.name === name);
  if (!u) return 'not sampled';
  return `${Math.round(u.networkRxBytesPerSecond ?? 0)} B/s in, ${Math.round(u.networkTxBytesPerSecond ?? 0)} B/s out`;
}
const wsUrl = (name: string) => `http://127.0.0.1:${serve.workspacePort}/workspace/${name}/`;

describe.skipIf(!run)('idle sleep on the real Incus, Caddy and Chromium', () => {
  it('falls asleep with its home intact; Chromium shows the waking page, then the workbench; typing in its terminal keeps it awake, an idle tab does not', async () => {
    const name = 'nap';
    const inst = instanceName(name, ID);
    await api.apply([workspace(name, { image: 'default', resources: { cpu: 2, memory: '1Gi' }, idleTimeout: '30s' })]);
    await ready(name);
    expect((await inside(inst, 'echo kept > /home/dev/kept.txt && chown dev /home/dev/kept.txt')).code).toBe(0);
    const slept = await asleep(name);
    expect(slept.spec.running).toBe(true);
    expect(condition(slept, 'Ready')).toMatchObject({ status: 'False', reason: 'Idle' });
    expect((await eventsOf(name)).find((e) => e.reason === 'Sleeping')?.note).toMatch(/nothing used it for/);

    browser = await launchChromium();
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    const page = await context.newPage();
    const res = await page.goto(wsUrl(name), { waitUntil: 'domcontentloaded', timeout: 60_000 });
    expect(res?.status()).toBe(503);
    expect(await page.locator('#tp-waking').textContent()).toBe(`Waking ${name}…`);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 180_000 });
    expect((await inside(inst, 'cat /home/dev/kept.txt')).out.trim()).toBe('kept');

    // Typing in the IDE's terminal for longer than the idle timeout keeps it awake.
    await page.locator('.monaco-workbench').click({ position: { x: 400, y: 300 } });
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Terminal: Create New Terminal');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Create New Terminal' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'visible', timeout: 60_000 });
    await page.locator('.terminal-wrapper .xterm').first().click();
    const typing = (async () => {
      for (let i = 0; i < 45; i++) {
        await page.keyboard.type(`echo typing ${i} `, { delay: 40 });
        await page.keyboard.press('Enter');
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    await awakeFor(name, 40_000);
    console.log(`test/e2e/sleep: network while typing: ${await networkRate(name)}`);
    await typing;
    await new Promise((r) => setTimeout(r, 12_000));
    console.log(`test/e2e/sleep: network with the tab open and no input: ${await networkRate(name)}`);
    // The tab stays open, with no input: it falls asleep anyway, and its reconnecting does not wake it.
    await asleep(name, 150_000);
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await get(name))?.status?.phase).toBe('Sleeping');
    await context.close();
    await remove(name);
  }, 900_000);

  it('a CPU load keeps it awake; curl through Caddy gets 503, Retry-After and one line, and wakes it', async () => {
    const name = 'busy';
    const inst = instanceName(name, ID);
    await api.apply([
      workspace(name, { image: 'minimal', resources: { cpu: 1, memory: '256Mi' }, idleTimeout: '20s' }),
    ]);
    await ready(name);
    await incus(['exec', inst, '--', 'sh', '-c', 'yes > /dev/null 2>&1 & echo $! > /tmp/yes.pid; exit 0']);
    await awakeFor(name, 35_000);
    expect((await inside(inst, 'kill $(cat /tmp/yes.pid)')).code).toBe(0);
    const w = await asleep(name);
    expect(w.status?.sleep?.lastSignal).toBe('cpu');

    const res = await fetch(wsUrl(name), { headers: { authorization: AUTH }, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.text()).toMatch(
      /^503: Workspace "busy" is waking up \(\w+\); retry in a few seconds \(Tidepool: http:\/\/127\.0\.0\.1:\d+\/app\/\)\n$/,
    );
    await ready(name, 120_000);
    // Without credentials nothing wakes.
    await tp(['sleep', name, '--wait', '--timeout', '2m'], { env, timeoutMs: 150_000 });
    const anon = await fetch(wsUrl(name), { signal: AbortSignal.timeout(10_000) });
    expect(anon.status).toBe(401);
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await get(name))?.status?.phase).toBe('Sleeping');
    const woken = await tp(['wake', name, '--wait', '--timeout', '2m'], { env, timeoutMs: 150_000 });
    expect(woken.code, woken.stderr).toBe(0);
    expect(woken.stdout).toMatch(/workspace\/busy: workspace "busy" is waking up/);
    await remove(name);
  }, 600_000);

  it('an exec session keeps it awake', async () => {
    const name = 'talk';
    await api.apply([
      workspace(name, { image: 'minimal', resources: { cpu: 1, memory: '256Mi' }, idleTimeout: '20s' }),
    ]);
    await ready(name);
    const session = tp(['exec', name, '--', 'sleep', '40'], { env, timeoutMs: 90_000 });
    await awakeFor(name, 35_000);
    expect((await session).code).toBe(0);
    const w = await asleep(name);
    expect(w.status?.sleep?.lastSignal).toBe('exec');
    await remove(name);
  }, 600_000);

  it('making room puts the least recently used workspace with an idle timeout to sleep, never one without; a refusal names all that would have to stop', async () => {
    const small = { image: 'minimal', resources: { cpu: 1, memory: '256Mi' } };
    await api.apply([workspace('keep', small)]);
    await ready('keep');
    await api.apply([workspace('old', { ...small, idleTimeout: '1h' })]);
    await ready('old');
    await api.apply([workspace('young', { ...small, idleTimeout: '1h' })]);
    await ready('young');
    await api.apply([workspace('new', small)]);
    await ready('new', 120_000);
    const old = await asleep('old');
    expect(old.status?.sleep?.reason).toBe('MakingRoom');
    expect(await vmStatus('keep')).toBe('Running');
    expect(await vmStatus('young')).toBe('Running');
    expect((await eventsOf('new')).some((e) => e.reason === 'MakingRoom' && e.note.includes('"old"'))).toBe(true);

    // Nothing running has an idle timeout now, and "more" needs 3 of the 4 vCPUs and a running
    // slot: two would have to stop, and the refusal names both.
    await api.patchSpec('young', { idleTimeout: '0' });
    await api.apply([workspace('more', { ...small, resources: { cpu: 3, memory: '256Mi' } })]);
    const refused = await until(
      'more refused',
      async () => {
        const w: Obj | undefined = await get('more');
        return condition(w, 'Ready')?.reason === 'InsufficientCapacity' ? w : undefined;
      },
      60_000,
      250,
    );
    const message = condition(refused, 'Ready')?.message ?? '';
    expect(message.match(/"(keep|young|new)" \(1 vCPU/g)?.length).toBe(2);
    for (const n of ['keep', 'young', 'new']) expect(await vmStatus(n)).toBe('Running');
    await remove('more', 'new', 'young', 'old', 'keep');
  }, 600_000);
});
