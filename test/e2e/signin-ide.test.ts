// Sign-in with the real everything: the real `tidepool serve --auth oidc` (Incus, its Caddy), a
// real OpenID Connect provider (test/fixtures/oidc-provider.ts) and real VS Code in Chromium. A
// browser with no credentials opens an IDE, is sent to the provider's form, signs in and gets
// the workbench (its WebSocket to the container through the session); a Port of the same
// workspace is refused while private (a 403 naming who is signed in), then opens with the same
// session once shared with the team, and its dev server (which writes down every Cookie header
// it gets) is never sent the session cookie.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { CHROMIUM, launchChromium } from '../chromium.js';
import { cleanEnv } from '../cli/helpers.js';
import { serveOidcFlags, startOidcProvider, webClient, type OidcFixture } from '../fixtures/oidc-provider.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  Api,
  freePorts,
  incus,
  inside,
  isReady,
  port,
  presetId,
  startIncusServe,
  started,
  stopServe,
  workspace,
  type IncusServe,
} from './incus-helpers.js';

async function usable(): Promise<boolean> {
  if (!(await requireOrSkip('test/e2e/signin-ide'))) return false;
  const missing: string[] = [];
  if ((await incus(['image', 'show', IDE_IMAGE_ALIAS])).exitCode !== 0)
    missing.push(`the Incus image ${IDE_IMAGE_ALIAS}`);
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM}`);
  if (!missing.length) return true;
  const msg = `test/e2e/signin-ide: missing ${missing.join(' and ')}`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return false;
}

const run = await usable();
let scratch: string;
let serve: IncusServe;
let api: Api;
let op: OidcFixture;
let ID = '';
let browser: Browser | undefined;

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-signin-'));
  const ports = await freePorts();
  op = await startOidcProvider({
    clients: [webClient('tidepool', 'e2e-secret', [`http://127.0.0.1:${ports.appPort}/auth/callback`])],
  });
  await writeFile(join(scratch, 'oidc-secret'), 'e2e-secret\n', { mode: 0o600 });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'signin');
  serve = await startIncusServe(dataDir, ports, cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') }), 90_000, [
    ...serveOidcFlags(op.issuer, 'tidepool', join(scratch, 'oidc-secret')),
    '--allowed-group',
    'devs',
  ]);
  api = new Api(serve.address);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const s of started) await stopServe(s).catch((err: unknown) => console.error(`stopping serve: ${err}`));
  if (run && ID) {
    await deleteByTidepoolId(ID);
    await deleteVolumesByTidepoolId(ID);
  }
  await op?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 180_000);

describe.skipIf(!run)('sign-in with the real serve, Incus, Caddy, VS Code and Chromium', () => {
  it('an IDE page load signs in at the provider and opens VS Code; a Port opens with the same session', async () => {
    const ws = 'signin';
    // bob's own workspace, in his namespace (a person opens only their own namespace's IDEs).
    const inst = instanceName(`bob/${ws}`, ID);
    const yaml = [
      workspace(ws, { image: 'default', resources: { cpu: 2, memory: '1Gi' } }),
      port(`${ws}-3000`, ws, 3000),
    ]
      .map((o) => JSON.stringify(o))
      .join('\n---\n');
    const applied = await api.call('POST', '/api/v1/namespaces/bob/apply', yaml, 'application/yaml');
    expect(applied.status, JSON.stringify(applied.json)).toBe(200);
    await until(
      `workspace bob/${ws} Ready`,
      async () => {
        const r = await api.call('GET', `/api/v1/namespaces/bob/workspaces/${ws}`);
        return r.status === 200 && isReady(r.json) ? true : undefined;
      },
      240_000,
      250,
    );
    // A dev server that writes down the Cookie headers it is sent.
    await inside(
      inst,
      `cd /tmp && nohup python3 -c 'import http.server as h
class H(h.SimpleHTTPRequestHandler):
    def do_GET(self):
        open("/tmp/cookies.log","a").write(str(self.headers.get("Cookie"))+"\\n")
        return super().do_GET()
h.ThreadingHTTPServer(("0.0.0.0",3000),H).serve_forever()' >/dev/null 2>&1 &`,
    );

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const ideUrl = `http://127.0.0.1:${serve.workspacePort}/ns/bob/workspace/${ws}/`;
    await page.goto(ideUrl, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    // No credentials: the provider's form.
    expect(new URL(page.url()).origin).toBe(op.issuer);
    await page.fill('input[name=login]', 'bob');
    await page.fill('input[name=password]', 'bob-pw');
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(ideUrl), { timeout: 60_000 }),
      page.click('button[type=submit]'),
    ]);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120_000 });
    // The folder opened through the workbench's WebSocket to the container (with the session).
    await expect.poll(() => page.title(), { timeout: 60_000 }).toMatch(/project/);
    expect(await page.locator('.monaco-dialog-box').count()).toBe(0);

    // A private Port (the default) is its namespace's and the admins': one of the default
    // namespace (registered before its workspace exists) is refused to bob, naming him.
    await api.apply([port('other-3000', 'other', 3000)]);
    const refused = await page.goto(`http://127.0.0.1:${serve.previewPort}/workspace/other/port/3000/`);
    expect(refused?.status()).toBe(403);
    expect(await page.textContent('body')).toContain('signed in as bob@example.test');
    // His own private Port opens with the same session.
    const portUrl = `http://127.0.0.1:${serve.previewPort}/ns/bob/workspace/${ws}/port/3000/`;
    const res = await until(
      'the dev server answering through the preview port',
      async () => {
        const r = await page.goto(portUrl);
        return r?.status() === 200 ? r : undefined;
      },
      60_000,
      1000,
    );
    expect(res.status()).toBe(200);
    expect(await page.textContent('body')).toContain('Directory listing');
    const seen = (await inside(inst, 'cat /tmp/cookies.log')).out;
    expect(seen.trim().length).toBeGreaterThan(0);
    expect(seen).not.toContain('tp_session');
  }, 300_000);
});
