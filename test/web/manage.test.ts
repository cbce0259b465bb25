// Managing workspaces from the browser (issue 13), in real headless Chromium against a real
// `tidepool serve` (stub runtime, memory proxy, a GitOps sync folder): create through the form,
// see it Running and its IDE link become active, a 422 shown next to the field, ports added and
// removed with whether something answers, the workspace page by URL (reload), delete through the
// typed-name confirmation (and the warning for a workspace a sync folder declares), the events
// filter; keyboard only; no serious or critical axe-core violations; a 390 px wide viewport
// without horizontal scrolling. It also makes the README's screenshots, after checking what they show.
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  AUTH,
  PASSWORD,
  Serve,
  USER,
  buildUi,
  closeBrowser,
  openBrowser,
  skipBrowserSuite,
  sleep,
  workspaceYaml,
  type Browsing,
} from './harness.js';
import { screenshotPath } from '../screenshots.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SHOTS = {
  desktop: screenshotPath('screenshot.png'),
  workspace: screenshotPath('workspace.png'),
  mobile: screenshotPath('mobile.png'),
};

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** axe-core run inside the page; the serious and critical violations, each with where it is. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const violations = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  })) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

/** Whether the page scrolls sideways (its content is wider than the window). */
async function scrollsSideways(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
}

describe.skipIf(skipBrowserSuite())('managing workspaces in Chromium against tidepool serve', () => {
  const serve = new Serve();
  const syncDir = join(serve.tmp, 'sync');
  let b: Browsing | undefined;
  let page: Page;
  let listener: Server | undefined;
  const url = (path: string) => `${serve.base}${path}`;
  const dialog = (tag: string) => page.locator(`${tag} dialog`);
  const row = (name: string) => page.locator(`tp-workspaces tr[data-name="${name}"]`);
  const focused = () =>
    page.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el ? `${el.localName}#${el.id}` : '';
    });

  beforeAll(async () => {
    await buildUi();
    mkdirSync(syncDir, { recursive: true });
    writeFileSync(join(syncDir, 'team.yaml'), workspaceYaml('from-git'));
    await serve.start(['--sync-dir', `team=${syncDir}`]);
    // A few workspaces applied through the API, so that the list is a real one.
    const post = (plural: string, body: object) =>
      serve.api(`/api/v1/${plural}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ws = (name: string, running: boolean, cpu: number, memory: string) =>
      post('workspaces', {
        apiVersion: 'tidepool/v1',
        kind: 'Workspace',
        metadata: { name },
        spec: { image: 'default', running, resources: { cpu, memory } },
      });
    await ws('alice', true, 2, '4Gi');
    await ws('bob', false, 1, '2Gi');
    await post('ports', {
      apiVersion: 'tidepool/v1',
      kind: 'Port',
      metadata: { name: 'alice-5173' },
      spec: { workspace: 'alice', port: 5173 },
    });
    b = await openBrowser();
    page = b.page;
  });

  afterAll(async () => {
    listener?.close();
    await closeBrowser(b);
    await serve.close();
  });

  it('offers the server’s image templates, and creates a workspace through the form (keyboard only); its page shows it Running with the IDE link', async () => {
    await page.goto(url('/app/'));
    await page.locator('tp-connection[state="live"]').waitFor({ timeout: 10_000 });
    await row('alice').locator('tp-badge', { hasText: 'Running' }).waitFor({ timeout: 15_000 });

    await page.getByRole('button', { name: 'New workspace' }).focus();
    await page.keyboard.press('Enter');
    await dialog('tp-create-dialog').waitFor({ state: 'visible' });
    // The form opens on Name.
    expect(await focused()).toBe('input#name');
    const templates = await page.getByRole('combobox', { name: 'Image' }).locator('option').allTextContents();
    expect(templates).toEqual(
      (await (await fetch(url('/app/config.json'), { headers: { authorization: AUTH } })).json()).imageTemplates,
    );
    expect(templates).toContain('default');
    await page.keyboard.type('web-carol');
    await page.keyboard.press('Tab'); // Image
    await page.keyboard.press('Tab'); // CPU
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1');
    await page.keyboard.press('Tab'); // Memory
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1Gi');
    await page.keyboard.press('Enter');

    // Created as typed, and the page of it opens.
    await page.waitForURL(url('/app/workspaces/web-carol'), { timeout: 10_000 });
    const created = await serve.api('/api/v1/workspaces/web-carol');
    expect(created.spec).toMatchObject({ image: 'default', running: true, resources: { cpu: 1, memory: '1Gi' } });
    const pageEl = page.locator('tp-workspace-page');
    await pageEl.getByRole('heading', { name: 'web-carol' }).waitFor();
    await pageEl.locator('.head tp-badge', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
    const ide = pageEl.getByRole('link', { name: 'IDE of web-carol (new tab)' });
    await ide.waitFor({ timeout: 15_000 });
    expect(await ide.getAttribute('href')).toBe('http://127.0.0.1:8081/workspace/web-carol/');
    expect(await pageEl.locator('.summary').textContent()).toBe('Ready: the IDE answers.');
    expect(await pageEl.getByRole('button', { name: 'Stop web-carol' }).isEnabled()).toBe(true);
  });

  it('shows the API’s 422 for a bad name next to the Name field, and Escape closes the form', async () => {
    await page.goto(url('/app/'));
    await page.getByRole('button', { name: 'New workspace' }).click();
    const name = page.getByRole('textbox', { name: 'Name' });
    await name.fill('Bad_Name');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const error = page.locator('tp-create-dialog #name-error');
    await expect.poll(() => error.textContent(), { timeout: 5000 }).toContain('must be a DNS label');
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await name.getAttribute('aria-describedby')).toContain('name-error');
    // Next to the field: right under it, and the field has the focus again.
    const [box, errBox] = [await name.boundingBox(), await error.boundingBox()];
    expect(errBox!.y - (box!.y + box!.height)).toBeGreaterThanOrEqual(0);
    expect(errBox!.y - (box!.y + box!.height)).toBeLessThan(60);
    expect(await focused()).toBe('input#name');
    expect((await fetch(url('/api/v1/workspaces/Bad_Name'), { headers: { authorization: AUTH } })).status).toBe(404);
    await page.keyboard.press('Escape');
    await dialog('tp-create-dialog').waitFor({ state: 'hidden' });
    expect(await focused()).toBe('button#');
  });

  it('adds a Port on the workspace page, says whether something answers on it, and refuses a bad one next to the field', async () => {
    await page.goto(url('/app/workspaces/web-carol'));
    const ports = page.locator('tp-ports');
    const input = ports.getByRole('spinbutton', { name: 'Port' });
    await input.fill('80');
    await ports.getByRole('button', { name: 'Add port' }).click();
    await expect
      .poll(() => ports.locator('#port-error').textContent(), { timeout: 5000 })
      .toContain('must be between 1024 and 65535');

    await input.fill('3000');
    await input.press('Enter');
    const item = ports.locator('li[data-port="3000"]');
    await item.waitFor({ timeout: 5000 });
    expect((await serve.api('/api/v1/ports/web-carol-3000')).spec).toEqual({
      workspace: 'web-carol',
      port: 3000,
      visibility: 'private',
    });
    // Nothing listens on 3000 in the stub's workspace yet.
    await item.locator('tp-badge', { hasText: 'No answer' }).waitFor({ timeout: 5000 });

    // A server on the workspace's own address (the stub's workspaces are loopback addresses).
    const ip = (await serve.api('/api/v1/workspaces/web-carol')).status.ip as string;
    expect(ip).toMatch(/^127\.77\./);
    listener = createServer((s) => s.end());
    await new Promise<void>((r) => listener!.listen(3000, ip, () => r()));
    await ports.getByRole('button', { name: 'Check again' }).click();
    await item.locator('tp-badge', { hasText: 'Answers' }).waitFor({ timeout: 5000 });
    await item.locator('a', { hasText: ':3000' }).waitFor({ timeout: 10_000 });
    expect(await item.locator('a').getAttribute('href')).toBe('http://127.0.0.1:8081/workspace/web-carol/port/3000/');

    // A second one, then removed again.
    await input.fill('8000');
    await ports.getByRole('button', { name: 'Add port' }).click();
    await ports.locator('li[data-port="8000"]').waitFor({ timeout: 5000 });
    await ports.getByRole('button', { name: 'Remove port 8000' }).click();
    await ports.locator('li[data-port="8000"]').waitFor({ state: 'detached', timeout: 5000 });
    expect(await ports.locator('#port-limit').textContent()).toBe('1 of 5');
  });

  it('opens the workspace page by its URL (a reload), with conditions, events, details and YAML', async () => {
    const res = await page.goto(url('/app/workspaces/web-carol'));
    expect(res?.status()).toBe(200);
    const ws = page.locator('tp-workspace-page');
    await ws.getByRole('heading', { name: 'web-carol' }).waitFor({ timeout: 10_000 });
    await ws.locator('table.conditions tr[data-type="Ready"]', { hasText: 'True' }).waitFor({ timeout: 10_000 });
    const ip = (await serve.api('/api/v1/workspaces/web-carol')).status.ip as string;
    expect(await ws.locator('dl').textContent()).toContain(ip);
    expect(await ws.locator('dd.owner').textContent()).toContain('No sync');
    await ws.locator('tp-events li.event', { hasText: 'Created' }).first().waitFor({ timeout: 10_000 });
    // Only this workspace's events (and its ports').
    for (const t of await ws.locator('tp-events li.event .object').allTextContents())
      expect(t).toMatch(/^(Workspace\/web-carol|Port\/web-carol-\d+)$/);
    const yaml = await ws.locator('pre').textContent();
    expect(yaml).toContain('kind: Workspace');
    expect(yaml).toContain('  name: web-carol');
    expect(yaml).toContain('    memory: 1Gi');
    // An unknown name says so (and the URL still serves the page).
    await page.goto(url('/app/workspaces/nobody-here'));
    await ws.getByText('There is no workspace named').waitFor({ timeout: 10_000 });
    // The header link goes back to the list without a reload.
    await page.getByRole('link', { name: 'Tidepool: all workspaces' }).click();
    await page.waitForURL(url('/app/'));
    await row('web-carol').waitFor();
  });

  it('filters the events by workspace and type', async () => {
    await page.goto(url('/app/'));
    const events = page.locator('tp-app >> tp-events').first();
    await events.locator('li.event').first().waitFor({ timeout: 10_000 });
    await events.getByRole('combobox', { name: 'Workspace' }).selectOption('alice');
    await expect
      .poll(async () => [...new Set(await events.locator('li.event .object').allTextContents())], { timeout: 5000 })
      .toEqual(expect.arrayContaining(['Workspace/alice']));
    for (const t of await events.locator('li.event .object').allTextContents())
      expect(t).toMatch(/^(Workspace\/alice|Port\/alice-\d+)$/);
    await events.getByRole('combobox', { name: 'Type' }).selectOption('Warning');
    await expect.poll(() => events.locator('li.event.normal').count()).toBe(0);
    await events.getByRole('combobox', { name: 'Workspace' }).selectOption('');
    await events.getByRole('combobox', { name: 'Type' }).selectOption('');
    expect(await events.locator('li.event').count()).toBeGreaterThan(1);
  });

  it('has no serious or critical accessibility violations (axe-core), on the list, the workspace page and both dialogs', async () => {
    await page.goto(url('/app/'));
    await row('web-carol').waitFor({ timeout: 10_000 });
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'New workspace' }).click();
    await dialog('tp-create-dialog').waitFor({ state: 'visible' });
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Delete from-git' }).click();
    await dialog('tp-delete-dialog').waitFor({ state: 'visible' });
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.goto(url('/app/workspaces/web-carol'));
    await page.locator('tp-ports li[data-port="3000"] tp-badge').waitFor({ timeout: 10_000 });
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('makes the README screenshots of what it checked: the list, the workspace page, and a phone', async () => {
    await page.goto(url('/app/'));
    await page.locator('tp-connection[state="live"]').waitFor({ timeout: 10_000 });
    for (const n of ['alice', 'web-carol', 'from-git'])
      await row(n).locator('tp-badge', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
    await row('bob').locator('tp-badge', { hasText: 'Stopped' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('tp-workspaces tbody tr').count()).toBe(4);
    expect(await row('from-git').locator('.owner').textContent()).toBe('from sync team');
    expect(await row('bob').locator('.ide-off').textContent()).toBe('IDE: stopped');
    // The table fits its card at every width it is shown in (narrower, its rows become cards).
    for (const width of [1280, 1070, 1000, 800]) {
      await page.setViewportSize({ width, height: 860 });
      const [scroll, client] = await page.locator('tp-workspaces').evaluate((el) => [el.scrollWidth, el.clientWidth]);
      expect(scroll, `tp-workspaces at ${width} px`).toBeLessThanOrEqual(client);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.mouse.move(0, 0);
    await sleep(300);
    const bottom = await page.evaluate(
      () => document.querySelector('tp-app')?.shadowRoot?.querySelector('main')?.getBoundingClientRect().bottom ?? 0,
    );
    await page.screenshot({
      path: SHOTS.desktop,
      clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) + 16 },
      fullPage: true,
    });

    await page.goto(url('/app/workspaces/web-carol'));
    const ws = page.locator('tp-workspace-page');
    await ws.getByRole('link', { name: 'IDE of web-carol (new tab)' }).waitFor({ timeout: 10_000 });
    await ws.locator('tp-ports li[data-port="3000"] tp-badge', { hasText: 'Answers' }).waitFor({ timeout: 10_000 });
    await ws.locator('tp-events li.event').first().waitFor();
    await sleep(300);
    await page.screenshot({ path: SHOTS.workspace, fullPage: true });

    // A phone: nothing wider than the window, on the list, the workspace page and the form.
    const phone = await b!.browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await phone.newPage();
      await p.goto(url('/app/workspaces/web-carol'));
      await p.locator('tp-workspace-page').getByRole('heading', { name: 'web-carol' }).waitFor({ timeout: 10_000 });
      let m = await scrollsSideways(p);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
      await p.goto(url('/app/'));
      await p
        .locator('tp-workspaces tr[data-name="alice"] tp-badge', { hasText: 'Running' })
        .waitFor({ timeout: 10_000 });
      m = await scrollsSideways(p);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
      expect(m.clientWidth).toBe(390);
      // Every workspace's Start/Stop and Delete is on screen (not cut off to the right).
      for (const box of await p
        .locator('tp-workspaces button.delete')
        .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right))) {
        expect(box).toBeLessThanOrEqual(390);
      }
      await sleep(300);
      await p.screenshot({ path: SHOTS.mobile, fullPage: false });
      await p.getByRole('button', { name: 'New workspace' }).click();
      await p.locator('tp-create-dialog dialog').waitFor({ state: 'visible' });
      m = await scrollsSideways(p);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
    } finally {
      await phone.close();
    }
  });

  it('warns before deleting a workspace a sync folder declares: which folder, and that the sync makes it again', async () => {
    await page.goto(url('/app/'));
    const del = page.getByRole('button', { name: 'Delete from-git' });
    await del.focus();
    await page.keyboard.press('Enter');
    const d = dialog('tp-delete-dialog');
    await d.waitFor({ state: 'visible' });
    const warning = await d.locator('#delete-sync').textContent();
    expect(warning).toContain('the sync folder “team”');
    expect(warning).toContain(syncDir);
    expect(warning).toContain('create it again, with an empty home');
    const file = (await serve.api('/api/v1/workspaces/from-git')).metadata.annotations?.['tidepool/sync-file'] as
      | string
      | undefined;
    if (file) expect(warning).toContain(`file ${file}`);
    await page.keyboard.press('Escape');
    await d.waitFor({ state: 'hidden' });
    // Focus is back on the Delete button that opened it.
    expect(await focused()).toBe('button#');
    expect((await serve.api('/api/v1/workspaces/from-git')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('deletes a workspace only once its name is typed, from its page, and goes back to the list', async () => {
    await page.goto(url('/app/workspaces/web-carol'));
    await page.locator('tp-workspace-page').getByRole('button', { name: 'Delete web-carol' }).click();
    const d = dialog('tp-delete-dialog');
    await d.waitFor({ state: 'visible' });
    expect(await d.textContent()).toContain('Its disk and its home directory are deleted for good');
    expect(await d.locator('#delete-sync').count()).toBe(0);
    const confirm = d.getByRole('button', { name: 'Delete for good' });
    expect(await confirm.isDisabled()).toBe(true);
    expect(await focused()).toBe('input#confirm');
    await page.keyboard.type('web-caro');
    expect(await confirm.isDisabled()).toBe(true);
    await page.keyboard.type('l');
    expect(await confirm.isEnabled()).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(url('/app/'), { timeout: 10_000 });
    await row('web-carol').waitFor({ state: 'detached', timeout: 15_000 });
    await expect
      .poll(
        async () => (await fetch(url('/api/v1/workspaces/web-carol'), { headers: { authorization: AUTH } })).status,
        { timeout: 15_000 },
      )
      .toBe(404);
    // Its Ports went with it.
    expect(
      (await serve.api('/api/v1/ports')).items.map((p: { metadata: { name: string } }) => p.metadata.name),
    ).not.toContain('web-carol-3000');
  });

  it('threw no error in the page', () => {
    expect(b?.errors).toEqual([]);
  });
});
