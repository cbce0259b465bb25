// Benchmark: converging 1000 workspaces × (1 IDE + 4 Ports) = 5000 routes on a real Caddy.
//   (a) Tidepool's converge: the Caddy driver from an empty Caddy, read() then apply()
//   (b) the usual approach: one admin-API call per route (bounded; extrapolated past the budget)
//   (c) the floor: one POST /load of the final config, prebuilt
//   --controller: also through the real controller (store + stub runtime): store write until
//     Caddy serves every route, Caddy emptied + one resync, and kill -9 of Caddy, each until
//     every route is back (the end-to-end part is bounded by --controller-budget-seconds)
// Run: npx tsx bench/proxy.ts [--workspaces N] [--rounds N] [--budget-seconds S] [--controller]
// Traffic goes to loopback only; upstreams are 127.77.x.y addresses.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import http from 'node:http';
import { request } from 'undici';
import { createCaddyProxy, freeLoopbackPort, type Json } from '../controller/drivers/proxy/caddy/index.js';
import { routeTablesEqual } from '../controller/drivers/proxy/types.js';
import { addRouteByRoute, benchTable, flatRoutes, median, workspaceIp } from './lib/caddy-bench.js';
import { measureThroughController } from './lib/caddy-controller.js';

const { values: args } = parseArgs({
  options: {
    workspaces: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'budget-seconds': { type: 'string', default: '90' },
    controller: { type: 'boolean', default: false },
    'controller-budget-seconds': { type: 'string', default: '300' },
  },
});
const WORKSPACES = Number(args.workspaces);
const ROUNDS = Number(args.rounds);
const BUDGET_MS = Number(args['budget-seconds']) * 1000;
const USER = 'bench', PASSWORD = 'bench-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

try {
  execFileSync('caddy', ['version'], { stdio: 'ignore' });
} catch {
  console.error('caddy is not installed: run scripts/ensure-caddy.sh');
  process.exit(1);
}

const since = (t: number) => (performance.now() - t) / 1000;
const fmt = (s: number) => `${s.toFixed(3)} s`;

async function echoServer(host: string, name: string): Promise<http.Server> {
  const s = http.createServer((req, res) => res.end(JSON.stringify({ server: name, url: req.url })));
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  return s;
}
const upstreamOf = (s: http.Server) => `${(s.address() as { address: string }).address}:${(s.address() as { port: number }).port}`;

// Two real upstreams so the spot checks see 200s; every other route points at nothing (502).
const last = WORKSPACES - 1;
const ide0 = await echoServer(workspaceIp(0), 'ws-0000 ide');
const portLast = await echoServer(workspaceIp(last), 'last port 3000');
const table = benchTable(WORKSPACES, { ide: new Map([[0, upstreamOf(ide0)]]), port: new Map([[last, upstreamOf(portLast)]]) });
const routeCount = table.workspaces.length + table.ports.length;

const stateDir = await mkdtemp(join(tmpdir(), 'tp-bench-proxy-'));
const workspaceListen = `127.0.0.1:${await freeLoopbackPort()}`;
const proxy = createCaddyProxy({
  appListen: `127.0.0.1:${await freeLoopbackPort()}`, workspaceListen,
  apiUpstream: '127.0.0.1:9', credentials: { username: USER, password: PASSWORD }, stateDir,
});

try {
  await proxy.start();
  const admin = proxy.admin();
  const finalConfig = await proxy.buildConfig(table) as { admin: Json };
  const adminBlock = finalConfig.admin;
  const empty = () => admin.load({ admin: adminBlock });
  // Warm-up: the bcrypt hash is made once per driver, not per converge.
  await proxy.apply(benchTable(1));
  console.log(`Caddy ${execFileSync('caddy', ['version']).toString().trim()} on loopback; ${WORKSPACES} workspaces × ${1 + table.ports.length / WORKSPACES} routes = ${routeCount} routes; ${ROUNDS} rounds, median`);

  const ours: number[] = [], floor: number[] = [];
  const floorBody = JSON.stringify(finalConfig);
  for (let round = 0; round < ROUNDS; round++) {
    await empty();
    let t = performance.now();
    const before = await proxy.read(); // what the controller does: read, compare, apply
    if (before && routeTablesEqual(before, table)) throw new Error('Caddy was not empty');
    await proxy.apply(table);
    ours.push(since(t));

    if (round === 0) {
      const live = await proxy.read();
      if (!live || !routeTablesEqual(live, table)) throw new Error('after apply, Caddy does not hold the whole table');
      const check = async (path: string, want: number) => {
        const res = await request(`http://${workspaceListen}${path}`, { headers: { authorization: AUTH } });
        await res.body.dump();
        if (res.statusCode !== want) throw new Error(`${path}: ${res.statusCode}, expected ${want}`);
      };
      const lastName = table.workspaces[last]!.name;
      await check('/workspace/ws-0000/', 200);
      await check(`/workspace/${lastName}/port/3000/`, 200);
      await check(`/workspace/${table.workspaces[Math.floor(WORKSPACES / 2)]!.name}/port/8000/`, 502);
      await check('/workspace/no-such-workspace/', 404);
    }

    await empty();
    t = performance.now();
    await admin.call('POST', '/load', floorBody);
    floor.push(since(t));
  }

  // Steady state, for context: an unchanged table, then one more workspace.
  let t = performance.now();
  await proxy.apply(table);
  const noop = since(t);
  t = performance.now();
  await proxy.apply({ ...table, workspaces: [...table.workspaces, { name: 'zz-extra', upstream: '127.77.250.1:8080' }] });
  const oneChange = since(t);

  // The usual approach, on a fresh server of flat routes.
  await admin.load({ admin: adminBlock, apps: { http: { servers: { flat: { listen: [workspaceListen], automatic_https: { disable: true }, routes: [] } } } } });
  const rbr = await addRouteByRoute(admin, 'flat', flatRoutes(table), BUDGET_MS);
  await empty();

  const a = median(ours), c = median(floor), b = rbr.estimatedSeconds;
  console.log('');
  console.log(`(a) Tidepool converge (driver read + apply, from empty)   ${fmt(a)}   [rounds: ${ours.map(fmt).join(', ')}]`);
  console.log(`(b) route by route (one admin call per route)             ${fmt(b)}${rbr.extrapolated
    ? `   EXTRAPOLATED: stopped after ${rbr.added}/${rbr.total} routes in ${fmt(rbr.seconds)} (budget ${BUDGET_MS / 1000} s); rest estimated from a linear fit of per-call time`
    : `   (all ${rbr.total} routes added)`}`);
  console.log(`(c) floor: one POST /load of the final config              ${fmt(c)}   [rounds: ${floor.map(fmt).join(', ')}]`);
  console.log('');
  console.log(`(a)/(c) = ${(a / c).toFixed(2)}x   target ≤ 1.5x   ${a / c <= 1.5 ? 'MET' : 'NOT MET'}`);
  console.log(`(b)/(a) = ${(b / a).toFixed(0)}x   target ≥ 50x    ${b / a >= 50 ? 'MET' : 'NOT MET'}${rbr.extrapolated ? ' (b extrapolated)' : ''}`);
  console.log('');
  console.log(`steady state at ${routeCount} routes: unchanged table ${fmt(noop)} (no reload); one workspace added ${fmt(oneChange)} (one reload)`);

  if (args.controller) {
    console.log('');
    console.log('through the controller (store + stub runtime + this Caddy):');
    const f = await measureThroughController(proxy, WORKSPACES, Number(args['controller-budget-seconds']) * 1000);
    const show = (x: number | undefined) => (x === undefined ? 'n/a' : fmt(x));
    console.log(`  store write of ${WORKSPACES} Workspaces + ${table.ports.length} Ports → every route live   ${show(f.endToEndSeconds)} (VM creation, probes and status writes included)`);
    console.log(`  Caddy emptied behind its back, one resync → every route live         ${show(f.resyncSeconds)}${f.resyncSeconds === undefined ? '' : `   = ${(f.resyncSeconds / c).toFixed(2)}x the floor`}`);
    if (f.resyncDriverSeconds !== undefined && f.resyncSeconds !== undefined) {
      console.log(`    of which: queue wait before the routes reconcile ${fmt(f.resyncSeconds - f.resyncDriverSeconds)}, routes reconcile (read + apply) ${fmt(f.resyncDriverSeconds)} = ${(f.resyncDriverSeconds / c).toFixed(2)}x the floor`);
    }
    console.log(`  kill -9 of Caddy → restarted, every route live                       ${show(f.killSeconds)}`);
    if (f.killRoutesSeconds !== undefined && f.killSeconds !== undefined) {
      console.log(`    of which: Caddy restart ${fmt(f.killSeconds - f.killRoutesSeconds)}, then the routes key alone (notify → table live) ${fmt(f.killRoutesSeconds)} = ${(f.killRoutesSeconds / c).toFixed(2)}x the floor`);
    }
    if (f.note) console.log(`  note: ${f.note}`);
  }
} finally {
  await proxy.close();
  await rm(stateDir, { recursive: true, force: true });
  ide0.close();
  portLast.close();
}
