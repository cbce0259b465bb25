// A `make run` (its Caddy on *:8080) and a `make test` on one host: with the stub's IDE port
// held on every address, a `tidepool serve --runtime stub --proxy caddy` gives its stub IDEs
// another port, and the controller probes and the proxy routes to that one, so workspaces are
// Ready and reachable through Caddy all the same. The test holds a free port of its own and
// names it with TIDEPOOL_STUB_IDE_PORT (holding 8080 itself would move the IDEs of every other
// test running beside it).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCaddy } from '../caddy/helpers.js';
import { cleanEnv, type Proc } from '../cli/helpers.js';
import {
  applyManifest,
  get,
  isCaddy,
  isDnsmasq,
  records,
  startCaddyServe,
  waitReady,
  workspaceYaml,
  type CaddyServe,
} from './caddy-helpers.js';

const started: Proc[] = [];
let scratch: string;
let holder: Server | undefined;
let held: number;
let s: CaddyServe;

beforeAll(async () => {
  ensureCaddy();
  scratch = await mkdtemp(join(tmpdir(), 'tp-e2e-stubport-'));
  // Hold *:P as a `make run` Caddy holds *:8080.
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '0.0.0.0', resolve));
  holder = srv;
  held = (srv.address() as { port: number }).port;
  s = await startCaddyServe(
    join(scratch, 'main'),
    cleanEnv({ XDG_DATA_HOME: join(scratch, 'xdg'), TIDEPOOL_STUB_IDE_PORT: String(held) }),
    started,
  );
}, 120_000);

afterAll(async () => {
  const pids = records(s?.proc ?? ({ stdout: '' } as Proc))
    .flatMap((r) => [r.caddyPid, r.dnsmasqPid])
    .filter((p): p is number => typeof p === 'number');
  for (const p of started) await p.stop('SIGTERM').catch(() => undefined);
  for (const pid of pids) if (isCaddy(pid) || isDnsmasq(pid)) process.kill(pid, 'SIGKILL');
  await new Promise((r) => (holder ? holder.close(r) : r(undefined)));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the stub runtime beside a listener on *:8080', () => {
  it('says which port its IDEs use, and a workspace is Ready and served through Caddy', async () => {
    const said = records(s.proc).find((r) => typeof r.idePort === 'number');
    expect(said, 'serve logs the IDE port it chose').toBeDefined();
    expect(said!.idePort).not.toBe(held);
    expect(await applyManifest(s, scratch, 'w.yaml', workspaceYaml('w'))).toContain('workspace/w created');
    await waitReady(s, 'workspace/w');
    const r = await get(`${s.workspaceUrl}/workspace/w/x`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('stub IDE of workspace w: GET /x\n');
  });
});
