// Helpers for bench/proxy.ts: the 5000-route table, the "usual approach" of one admin
// call per route, and small statistics.
import type { RouteTable } from '../../controller/drivers/proxy/types.js';
import type { CaddyAdmin, Json } from '../../controller/drivers/proxy/caddy/index.js';

export const PORTS_PER_WORKSPACE = [3000, 5173, 8000, 9000];

/** 127.77.x.y for workspace i (never .0 or .255). */
export function workspaceIp(i: number): string {
  return `127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

export function benchTable(workspaces: number, overrides: { ide?: Map<number, string>; port?: Map<number, string> } = {}): RouteTable {
  const table: RouteTable = { workspaces: [], ports: [] };
  for (let i = 0; i < workspaces; i++) {
    const name = `ws-${String(i).padStart(4, '0')}`;
    const ip = workspaceIp(i);
    table.workspaces.push({ name, upstream: overrides.ide?.get(i) ?? `${ip}:8080` });
    for (const [k, port] of PORTS_PER_WORKSPACE.entries()) {
      table.ports.push({ workspace: name, port, upstream: (k === 0 && overrides.port?.get(i)) || `${ip}:${port}` });
    }
  }
  return table;
}

/** One flat route as a route-by-route driver would add it (prefix stripped, streaming). */
function flatRoute(path: string, upstream: string): Json {
  return {
    match: [{ path: [`${path}/*`] }],
    handle: [
      { handler: 'rewrite', strip_path_prefix: path },
      { handler: 'reverse_proxy', upstreams: [{ dial: upstream }], flush_interval: -1, headers: { request: { set: { 'X-Forwarded-Prefix': [path] } } } },
    ],
  };
}

/** The routes of `table` in the order an appending driver must add them (a workspace's ports before its IDE). */
export function flatRoutes(table: RouteTable): Json[] {
  const byWorkspace = new Map<string, Json[]>();
  for (const p of table.ports) {
    const list = byWorkspace.get(p.workspace) ?? [];
    list.push(flatRoute(`/workspace/${p.workspace}/port/${p.port}`, p.upstream));
    byWorkspace.set(p.workspace, list);
  }
  return table.workspaces.flatMap((w) => [...(byWorkspace.get(w.name) ?? []), flatRoute(`/workspace/${w.name}`, w.upstream)]);
}

export interface RouteByRouteResult {
  added: number;
  total: number;
  seconds: number;
  /** Estimated seconds for all `total` routes (equal to `seconds` when all were added). */
  estimatedSeconds: number;
  extrapolated: boolean;
}

/**
 * POSTs each route to .../servers/<server>/routes, one admin call per route, until all
 * are added or `budgetMs` has passed; then extrapolates from a least-squares line through
 * the per-call times (each call re-provisions every route so far: cost grows linearly).
 */
export async function addRouteByRoute(admin: CaddyAdmin, server: string, routes: Json[], budgetMs: number): Promise<RouteByRouteResult> {
  const path = `/config/apps/http/servers/${server}/routes`;
  const durations: number[] = [];
  const start = performance.now();
  for (const route of routes) {
    const t = performance.now();
    await admin.call('POST', path, JSON.stringify(route));
    durations.push(performance.now() - t);
    if (performance.now() - start > budgetMs) break;
  }
  const seconds = (performance.now() - start) / 1000;
  const n = durations.length;
  if (n === routes.length) return { added: n, total: routes.length, seconds, estimatedSeconds: seconds, extrapolated: false };
  // Fit duration(i) = a + b*i on the measured calls, sum it over the calls not made.
  const mx = (n - 1) / 2;
  const my = durations.reduce((s, d) => s + d, 0) / n;
  let sxy = 0, sxx = 0;
  durations.forEach((d, i) => { sxy += (i - mx) * (d - my); sxx += (i - mx) ** 2; });
  const b = sxx > 0 ? sxy / sxx : 0;
  const a = my - b * mx;
  let restMs = 0;
  for (let i = n; i < routes.length; i++) restMs += Math.max(0, a + b * i);
  return { added: n, total: routes.length, seconds, estimatedSeconds: seconds + restMs / 1000, extrapolated: true };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
