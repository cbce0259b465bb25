// The IDE end to end, as a user gets it: `tidepool serve --runtime incus --proxy caddy`, a
// Workspace on the `default` template (the code-server image of images/ide), and Debian's
// Chromium through the real Caddy with basic auth. The page must load VS Code, open a
// terminal and run a command typed into it; the command's effect is checked inside the
// container through `incus exec`, not through the page. Saves docs/ide.png (TIDEPOOL_UPDATE_SCREENSHOTS=1; else a scratch copy).
// With TIDEPOOL_REQUIRE_INCUS set (make test), a missing Incus, IDE image or Chromium fails.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { idSuffix, instanceName } from '../../drivers/runtime/incus/names.js';
import { CHROMIUM, launchChromium } from '../chromium.js';
import { screenshotPath } from '../screenshots.js';
import { cleanEnv } from '../cli/helpers.js';
import { deleteByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  caddyPids,
  freePorts,
  incus,
  inside,
  instancesOf,
  isOurCaddy,
  isReady,
  PASSWORD,
  presetId,
  startIncusServe,
  started,
  stopServe,
  USER,
  workspace,
  type IncusServe,
} from './incus-helpers.js';

const SCREENSHOT = screenshotPath('ide.png');
const POOL = process.env.TIDEPOOL_POOL ?? 'tidepool';

/** Incus usable and the IDE image and Chromium there; a failure under TIDEPOOL_REQUIRE_INCUS, else a skip. */
async function usable(): Promise<boolean> {
  if (!(await requireOrSkip('test/e2e/ide'))) return false;
  const missing: string[] = [];
  if ((await incus(['image', 'show', IDE_IMAGE_ALIAS])).exitCode !== 0)
    missing.push(`the Incus image ${IDE_IMAGE_ALIAS} (scripts/setup-host.sh builds it)`);
  if (!existsSync(CHROMIUM))
    missing.push(`Chromium at ${CHROMIUM} (scripts/setup-host.sh --with-chromium installs it)`);
  if (!missing.length) return true;
  const msg = `test/e2e/ide: missing ${missing.join(' and ')}`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return false;
}

const run = await usable();
let scratch: string;
let serve: IncusServe;
let api: Api;
let ID = '';
let browser: Browser | undefined;

/** Custom storage volumes of this run (home volumes, if the driver makes them): named with our suffix or marked with our id. */
async function volumesOf(id: string): Promise<string[]> {
  const r = await incus(['storage', 'volume', 'list', POOL, '--format', 'json']);
  if (r.exitCode !== 0) return [];
  const vols = JSON.parse(r.stdout as string) as { name: string; type: string; config?: Record<string, string> }[];
  const suffix = idSuffix(id);
  return vols
    .filter((v) => v.type === 'custom' && (v.config?.['user.tidepool.id'] === id || v.name.includes(suffix)))
    .map((v) => v.name);
}

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-ide-'));
  const env = cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_LOG_LEVEL: 'info' });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'ide');
  serve = await startIncusServe(dataDir, await freePorts(), env);
  api = new Api(serve.address);
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const s of started)
    await stopServe(s).catch((err: unknown) => console.error(`stopping serve ${s.proc.pid}: ${err}`));
  for (const s of started) {
    for (const pid of caddyPids(s))
      if (await isOurCaddy(pid, s.dataDir)) console.error(`test/e2e/ide: Caddy ${pid} is still alive`);
  }
  if (run && ID) {
    const gone = await deleteByTidepoolId(ID);
    if (gone.length) console.log(`test/e2e/ide: cleaned up ${gone.length} instance(s): ${gone.join(', ')}`);
    for (const v of await volumesOf(ID)) {
      await incus(['storage', 'volume', 'delete', POOL, v]);
      console.log(`test/e2e/ide: cleaned up volume ${v}`);
    }
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

/** Opens a terminal panel through the command palette (F1 works in the browser; Ctrl+` may be taken by the page). */
async function openTerminal(page: Page): Promise<void> {
  // Right after the workbench shows, the terminal's commands may not be registered yet (they
  // load lazily): a palette opened then lists nothing. Close it and ask again, three times at most.
  for (let attempt = 1; ; attempt++) {
    await page.locator('.monaco-workbench').click({ position: { x: 400, y: 300 } });
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    await input.fill('>Terminal: Create New Terminal');
    // The palette filters as it goes: wait for the command's row before choosing it.
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Create New Terminal' }).first();
    try {
      await row.waitFor({ timeout: 30_000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
  await page.keyboard.press('Enter');
  await page.locator('.terminal-wrapper .xterm').first().waitFor({ state: 'visible', timeout: 60_000 });
}

describe.skipIf(!run)('the IDE in a real browser (code-server image, Incus, Caddy, Chromium)', () => {
  it('opens VS Code at /workspace/NAME/ through Caddy, runs a command typed into its terminal inside the container, and saves docs/ide.png', async () => {
    const ws = 'ide';
    const inst = instanceName(ws, ID);
    // The default template: the IDE image. 1 GiB is what one idle IDE plus a browser session needs.
    await api.apply([workspace(ws, { image: 'default', resources: { cpu: 2, memory: '1Gi' } })]);
    const o = await until(
      `workspace ${ws} Ready`,
      async () => {
        const w = await api.get('workspaces', ws);
        return isReady(w) ? w : undefined;
      },
      240_000,
      250,
    );
    expect(o.status?.phase).toBe('Running');
    // Incus agrees that it runs the IDE image (and not busybox).
    const seen = (await instancesOf(ID)).find((i) => i.name === inst);
    expect(seen?.status).toBe('Running');
    expect((await inside(inst, 'cat /etc/debian_version && command -v code-server')).out).toMatch(
      /^12\.[\s\S]*\/usr\/local\/bin\/code-server/,
    );

    browser = await launchChromium();

    const context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    const url = `http://127.0.0.1:${serve.workspacePort}/workspace/${ws}/`;
    const res = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    expect(res?.status()).toBe(200);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120_000 });
    // The workbench opened the folder the image gives it (~/project), in the container.
    await expect.poll(() => page.title(), { timeout: 60_000 }).toMatch(/project/);

    await openTerminal(page);
    // Type once the terminal's shell runs in the container (keys sent earlier are echoed before its prompt).
    await until(
      "the terminal's bash running as dev in the container",
      async () => ((await inside(inst, 'pgrep -u dev -x bash')).code === 0 ? true : undefined),
      30_000,
      250,
    );
    const token = randomBytes(6).toString('hex');
    // $((6*7)) and $(id -un) are evaluated by the shell in the container: the file can only say
    // "42" and "dev" if a real terminal ran the command as the workspace user.
    const cmd = `echo "tp-${token}-$((6*7))-$(id -un)" > ~/project/proof.txt; cat ~/project/proof.txt`;
    await page.locator('.terminal-wrapper .xterm').first().click();
    await page.keyboard.type(cmd, { delay: 5 });
    await page.keyboard.press('Enter');

    const want = `tp-${token}-42-dev`;
    const proof = await until(
      '~/project/proof.txt written in the container by the terminal',
      async () => {
        const r = await incus(['exec', inst, '--', 'cat', '/home/dev/project/proof.txt'], 20_000);
        return r.exitCode === 0 && (r.stdout as string).trim() === want ? (r.stdout as string).trim() : undefined;
      },
      60_000,
      500,
    );
    expect(proof).toBe(want);
    expect((await inside(inst, 'stat -c %U /home/dev/project/proof.txt')).out.trim()).toBe('dev');

    // The page shows it back: the Explorer (watching ~/project in the container) lists the new
    // file, and opened in the editor it reads what the container has. The terminal draws on a
    // canvas, so its text is not in the DOM; the editor's is.
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'proof.txt' });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.click();
    // innerText, not textContent: it keeps the editor's line breaks, which `want` spans.
    const editorText = () =>
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text with its line breaks is the point
      page.locator('.editor-instance .view-lines').first().innerText();
    await expect.poll(editorText, { timeout: 30_000 }).toContain(want);
    // The screenshot: the workbench with the file open over the terminal panel that wrote it,
    // in a page still connected to the container (no dialog).
    expect(await page.locator('.terminal-wrapper .xterm').first().isVisible()).toBe(true);
    expect(await page.locator('.monaco-workbench .part.panel').isVisible()).toBe(true);
    expect(await page.locator('.monaco-dialog-box').count()).toBe(0);
    await page.screenshot({ path: SCREENSHOT });
    await context.close();

    await api.delete('workspaces', ws);
    await until(
      `instance ${inst} deleted`,
      async () => ((await instancesOf(ID)).some((i) => i.name === inst) ? undefined : true),
      120_000,
      500,
    );
  }, 600_000);
});
