// Issue 23's "Done when", end to end with the real everything: the real `tidepool serve --auth
// oidc` (Incus, its Caddy), the test OpenID Connect provider (test/fixtures/oidc-provider.ts) and
// real VS Code in Chromium. alice and bob (group devs) sign in through the provider; neither is
// an admin here: eve is (--admin-user), the team's admin. Each creates a workspace `dev` with
// their session through the API, each opens their own IDE, and each is refused the other's IDE,
// Port and API object with a 403 naming who is signed in. bob shares a Port with the team and
// alice opens it; made public, it answers without sign-in only with its share token. eve lists
// both with `tidepool get ws -A` and a token, and her Quota refuses bob a second workspace with
// the figures. bob's `dev` put to sleep wakes for him and for no one his routes refuse (alice
// through an unpublished port, his private Port, his IDE or the waking page itself), and for a
// colleague with his public Port's share link. afterAll deletes every instance and volume carrying this run's Tidepool id.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDE_IMAGE_ALIAS } from '../../drivers/runtime/images.js';
import { instanceName } from '../../drivers/runtime/incus/names.js';
import { CHROMIUM, launchChromium } from '../chromium.js';
import { cleanEnv, tp } from '../cli/helpers.js';
import { USERS, serveOidcFlags, startOidcProvider, webClient, type OidcFixture } from '../fixtures/oidc-provider.js';
import { deleteByTidepoolId, deleteVolumesByTidepoolId, requireOrSkip, until } from '../incus/helpers.js';
import {
  freePorts,
  incus,
  inside,
  isReady,
  presetId,
  startIncusServe,
  started,
  stopServe,
  type IncusServe,
  type Obj,
} from './incus-helpers.js';

async function usable(): Promise<boolean> {
  if (!(await requireOrSkip('test/e2e/team'))) return false;
  const missing: string[] = [];
  if ((await incus(['image', 'show', IDE_IMAGE_ALIAS])).exitCode !== 0)
    missing.push(`the Incus image ${IDE_IMAGE_ALIAS}`);
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM}`);
  if (!missing.length) return true;
  const msg = `test/e2e/team: missing ${missing.join(' and ')}`;
  if (process.env.TIDEPOOL_REQUIRE_INCUS)
    throw new Error(`${msg}. TIDEPOOL_REQUIRE_INCUS is set, so this is a failure.`);
  console.warn(`SKIPPING ${msg}. Set TIDEPOOL_REQUIRE_INCUS=1 to make this a failure.`);
  return false;
}

const run = await usable();
let scratch: string;
let serve: IncusServe;
let op: OidcFixture;
let ID = '';
let browser: Browser | undefined;
let appUrl = '';
let ideUrl = '';
let previewUrl = '';

interface Answer {
  status: number;
  json: any;
}

/** One person's browser: the UI page (the API's origin, for calls with the session) and a page to open IDEs and Ports on. */
interface Person {
  user: string;
  email: string;
  ui: Page;
  nav: Page;
}

/** Signs `user` in through the provider's form in a fresh browser context, from the UI's sign-in link. */
async function signIn(user: string): Promise<Person> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const ui = await context.newPage();
  await ui.goto(`${appUrl}/auth/login?return=${encodeURIComponent('/app/')}`, { timeout: 60_000 });
  expect(new URL(ui.url()).origin).toBe(op.issuer);
  await ui.fill('input[name=login]', user);
  await ui.fill('input[name=password]', USERS[user]!.password);
  await Promise.all([
    ui.waitForURL((u) => u.href.startsWith(`${appUrl}/app/`), { timeout: 60_000 }),
    ui.click('button[type=submit]'),
  ]);
  const email = USERS[user]!.email;
  // The UI says who is signed in and their namespace.
  const who = ui.locator('tp-who form');
  await who.waitFor({ timeout: 60_000 });
  expect(await who.textContent()).toContain(email);
  return { user, email, ui, nav: await context.newPage() };
}

/** A request to the API from the UI's own page, with the person's session (the browser sets Origin). */
function call(p: Person, method: string, path: string, body?: object): Promise<Answer> {
  return p.ui.evaluate(
    async ({ method, path, body }) => {
      const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      const r = await fetch(path, {
        method,
        headers: { accept: 'application/json', ...(body ? { 'content-type': type } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      try {
        return { status: r.status, json: JSON.parse(text) };
      } catch {
        return { status: r.status, json: text };
      }
    },
    { method, path, body },
  );
}

const ideWorkspace = (name: string, cpu = 1) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Workspace',
  metadata: { name },
  spec: { image: 'default', running: true, resources: { cpu, memory: '1Gi' } },
});
const portOf = (ws: string, n: number) => ({
  apiVersion: 'tidepool/v1',
  kind: 'Port',
  metadata: { name: `${ws}-${n}` },
  spec: { workspace: ws, port: n },
});

/** Waits until `p`'s own workspace is Ready; a timeout names its status. */
async function readyFor(p: Person, name: string): Promise<void> {
  let last: Obj | undefined;
  await until(
    `${p.user}/${name} Ready (last status ${JSON.stringify(last?.status)})`,
    async () => {
      const r = await call(p, 'GET', `/api/v1/workspaces/${name}`);
      last = r.json as Obj;
      return r.status === 200 && isReady(last) ? true : undefined;
    },
    300_000,
    1000,
  );
}

/** The phase of the person's own `dev`. */
async function phaseOf(p: Person): Promise<string | undefined> {
  const r = await call(p, 'GET', '/api/v1/workspaces/dev');
  return (r.json as Obj).status?.phase;
}

/** The person's own `dev` is still asleep a few seconds later (a wake would have begun by then). */
async function staysAsleep(p: Person): Promise<void> {
  await new Promise((r) => setTimeout(r, 3000));
  expect(await phaseOf(p)).toBe('Sleeping');
}

/** Opens `url` on the person's page and waits for the VS Code workbench and its folder (the WebSocket to the container). */
async function opensWorkbench(p: Person, url: string): Promise<void> {
  await p.nav.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  expect(p.nav.url().startsWith(url)).toBe(true);
  await p.nav.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 180_000 });
  await expect.poll(() => p.nav.title(), { timeout: 90_000 }).toMatch(/project/);
}

/** Opens `url` on the person's page and expects the 403 page naming them. */
async function refusedNaming(p: Person, url: string): Promise<void> {
  const res = await p.nav.goto(url, { timeout: 60_000 });
  expect(res?.status(), url).toBe(403);
  expect(await p.nav.textContent('body')).toContain(p.email);
}

/** Opens `url` on the person's page until the dev server answers (it starts in the container). */
async function opensDevServer(p: Person, url: string): Promise<void> {
  await until(
    `${url} answering ${p.user} with the dev server`,
    async () => {
      const r = await p.nav.goto(url, { timeout: 30_000 });
      return r?.status() === 200 ? true : undefined;
    },
    90_000,
    1000,
  );
  expect(await p.nav.textContent('body')).toContain('Directory listing');
}

/** GET `url` with no credentials at all (a colleague's browser, a webhook). */
async function anonymous(url: string): Promise<number> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  if (!run) return;
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-team-'));
  const ports = await freePorts();
  appUrl = `http://127.0.0.1:${ports.appPort}`;
  ideUrl = `http://127.0.0.1:${ports.workspacePort}`;
  previewUrl = `http://127.0.0.1:${ports.previewPort}`;
  op = await startOidcProvider({ clients: [webClient('tidepool', 'team-secret', [`${appUrl}/auth/callback`])] });
  await writeFile(join(scratch, 'oidc-secret'), 'team-secret\n', { mode: 0o600 });
  const dataDir = join(scratch, 'data');
  ID = await presetId(dataDir, 'team');
  serve = await startIncusServe(dataDir, ports, cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg') }), 90_000, [
    ...serveOidcFlags(op.issuer, 'tidepool', join(scratch, 'oidc-secret')),
    '--allowed-group',
    'devs',
    // alice's group tidepool-admins is not named: she is a person like bob here. eve, in no
    // allowed group, signs in because she is the admin.
    '--admin-user',
    'eve@elsewhere.test',
  ]);
  browser = await launchChromium();
}, 150_000);

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

describe.skipIf(!run)('a team shares one Tidepool (issue 23, done when)', () => {
  it('two people each have their own `dev`, open only their own, share a Port; the admin sees both; a quota refuses with its figures', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const eve = await signIn('eve');
    expect((await call(alice, 'GET', '/api/v1/whoami')).json).toMatchObject({ namespace: 'alice', admin: false });
    expect((await call(bob, 'GET', '/api/v1/whoami')).json).toMatchObject({ namespace: 'bob', admin: false });
    expect((await call(eve, 'GET', '/api/v1/whoami')).json).toMatchObject({ namespace: 'eve', admin: true });

    // Each creates `dev` (and a Port of it) on today's paths: the requester's own namespace.
    for (const p of [alice, bob]) {
      const ws = await call(p, 'POST', '/api/v1/workspaces', ideWorkspace('dev'));
      expect(ws.status, JSON.stringify(ws.json)).toBe(201);
      expect(ws.json.metadata).toMatchObject({ name: 'dev', namespace: p.user });
      const port = await call(p, 'POST', '/api/v1/ports', portOf('dev', 3000));
      expect(port.status, JSON.stringify(port.json)).toBe(201);
      expect(port.json.spec.visibility ?? 'private').toBe('private');
    }

    // The admin: a token made with her session, then the CLI lists everyone's workspaces.
    const made = await call(eve, 'POST', '/api/v1/tokens', { name: 'team-e2e' });
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    const cli = cleanEnv({ TIDEPOOL_CONFIG: join(scratch, 'eve-config.yaml'), XDG_DATA_HOME: join(scratch, 'xdg') });
    const login = await tp(['login', serve.address, '--token', made.json.token as string], { env: cli });
    expect(login.code, login.stderr).toBe(0);
    const all = await tp(['get', 'ws', '-A'], { env: cli });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME/);
    expect(all.stdout).toMatch(/^alice\s+dev\s/m);
    expect(all.stdout).toMatch(/^bob\s+dev\s/m);
    // A person does not get everyone's.
    const notAll = await call(alice, 'GET', '/api/v1/workspaces?allNamespaces=true');
    expect(notAll.status).toBe(403);
    expect(notAll.json.message).toContain('alice@example.test');

    // The admin's Quota for bob: his `dev` fits, a second workspace does not, and he is told the figures.
    const quota = await fetch(`${serve.address}/api/v1/quotas`, {
      method: 'POST',
      headers: { authorization: `Bearer ${made.json.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'tidepool/v1',
        kind: 'Quota',
        metadata: { name: 'bob-one' },
        spec: { namespace: 'bob', workspaces: 1 },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(quota.status, await quota.clone().text()).toBe(201);
    const over = await call(bob, 'POST', '/api/v1/workspaces', { ...ideWorkspace('more'), spec: { running: false } });
    expect(over.status).toBe(422);
    expect(over.json.message).toContain('quota "bob-one"');
    expect(over.json.message).toMatch(/would use 2 workspaces \(1 in use, 1 asked\), and may use 1/);

    // Each opens their own IDE: the VS Code workbench loads.
    await Promise.all([readyFor(alice, 'dev'), readyFor(bob, 'dev')]);
    await opensWorkbench(alice, `${ideUrl}/ns/alice/workspace/dev/`);
    await opensWorkbench(bob, `${ideUrl}/ns/bob/workspace/dev/`);

    // ...and not the other's: the IDE, the Port and the API objects, each a 403 naming who asks.
    await refusedNaming(alice, `${ideUrl}/ns/bob/workspace/dev/`);
    await refusedNaming(bob, `${ideUrl}/ns/alice/workspace/dev/`);
    await refusedNaming(alice, `${previewUrl}/ns/bob/workspace/dev/port/3000/`);
    await refusedNaming(bob, `${previewUrl}/ns/alice/workspace/dev/port/3000/`);
    for (const [p, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      for (const path of [
        `/api/v1/namespaces/${other.user}/workspaces/dev`,
        `/api/v1/namespaces/${other.user}/ports/dev-3000`,
      ]) {
        const r = await call(p, 'GET', path);
        expect(r.status, path).toBe(403);
        expect(r.json.message).toContain(p.email);
      }
      const del = await call(p, 'DELETE', `/api/v1/namespaces/${other.user}/workspaces/dev`);
      expect(del.status).toBe(403);
    }

    // bob's dev server, then his Port shared with the team: alice opens it with her session.
    await inside(
      instanceName('bob/dev', ID),
      'cd /tmp && nohup python3 -m http.server 3000 --bind 0.0.0.0 >/dev/null 2>&1 &',
    );
    const bobsPort = `${previewUrl}/ns/bob/workspace/dev/port/3000/`;
    await opensDevServer(bob, bobsPort);
    const team = await call(bob, 'PATCH', '/api/v1/ports/dev-3000', { spec: { visibility: 'team' } });
    expect(team.status, JSON.stringify(team.json)).toBe(200);
    await opensDevServer(alice, bobsPort);
    // Nobody signed in: not even a team Port.
    expect(await anonymous(bobsPort)).toBe(401);

    // Public: the share link answers without sign-in; the bare path and a wrong token do not.
    const pub = await call(bob, 'PATCH', '/api/v1/ports/dev-3000', { spec: { visibility: 'public' } });
    expect(pub.status, JSON.stringify(pub.json)).toBe(200);
    const share = await call(bob, 'GET', '/api/v1/ports/dev-3000/share');
    expect(share.status, JSON.stringify(share.json)).toBe(200);
    expect(share.json.path).toMatch(/^\/ns\/bob\/workspace\/dev\/port\/3000\/tp-share\/[A-Za-z0-9_-]{16,}\/?$/);
    expect(await anonymous(`${previewUrl}${share.json.path}`)).toBe(200);
    expect(await anonymous(bobsPort)).toBe(401);
    const forged = (share.json.path as string).replace(/tp-share\/[^/]+/, 'tp-share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(await anonymous(`${previewUrl}${forged}`)).toBe(401);
    // alice's Port is still hers alone.
    await refusedNaming(bob, `${previewUrl}/ns/alice/workspace/dev/port/3000/`);

    // bob's `dev` asleep: nobody but whom its routes let in wakes it (api/wake-access.ts).
    const slept = await call(bob, 'POST', '/api/v1/workspaces/dev/sleep');
    expect(slept.status, JSON.stringify(slept.json)).toBe(200);
    await until('bob/dev asleep', async () => ((await phaseOf(bob)) === 'Sleeping' ? true : undefined), 120_000, 500);
    expect((await call(bob, 'PATCH', '/api/v1/ports/dev-3000', { spec: { visibility: 'private' } })).status).toBe(200);
    // A port no Port publishes passes the forward auth for anyone signed in, and has nothing to open.
    const unpublished = await alice.nav.goto(`${previewUrl}/ns/bob/workspace/dev/port/4000/`, { timeout: 60_000 });
    expect(unpublished?.status()).not.toBe(200);
    await staysAsleep(bob);
    await refusedNaming(alice, `${previewUrl}/ns/bob/workspace/dev/port/3000/`);
    await refusedNaming(alice, `${ideUrl}/ns/bob/workspace/dev/`);
    // The waking page called directly, with alice's session, is refused too.
    const direct = await call(alice, 'GET', '/api/v1/workspaces/dev.bob/waking?kind=port&port=3000');
    expect(direct.status).toBe(403);
    expect(direct.json.message).toContain(alice.email);
    await staysAsleep(bob);
    // Public again: a colleague with only the share link, nobody signed in, wakes it (the waking page).
    expect((await call(bob, 'PATCH', '/api/v1/ports/dev-3000', { spec: { visibility: 'public' } })).status).toBe(200);
    expect(await anonymous(`${previewUrl}/ns/bob/workspace/dev/port/3000/`)).toBe(401);
    await staysAsleep(bob);
    const woken = await fetch(`${previewUrl}${share.json.path}`, { signal: AbortSignal.timeout(15_000) });
    expect(woken.status).toBe(503);
    expect(await woken.text()).toMatch(/^503: Port 3000 of workspace "bob\/dev" is waking up/);
    await readyFor(bob, 'dev');
  }, 900_000);
});
