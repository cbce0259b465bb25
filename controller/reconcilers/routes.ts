// The route table reconciler, one key for the whole table: builds it from the store,
// reads what is live, and applies it in one call only when they differ. Then tells the
// workspaces and ports whose route appeared, went or failed.
import { keyOf, routeName, siblingKey, type Port, type Workspace } from '../../specs/index.js';
import { ProxyError, routeTablesEqual, sortRouteTable, type RouteTable } from '../../drivers/proxy/types.js';
import { portKey, workspaceKey } from '../keys.js';
import { getCondition, isTrue } from '../status.js';
import type { Result } from '../reconcile.js';
import type { Context } from './context.js';
import { errorMessage } from '../../specs/errors.js';

/** A workspace is routed when it is not being deleted, is declared running, and its IDE answered on its IP. */
export function routedIp(ws: Workspace): string | undefined {
  if (ws.metadata.deletionTimestamp || !ws.spec?.running) return undefined;
  if (!isTrue(ws.status, 'VMReady')) return undefined;
  return typeof ws.status?.ip === 'string' && ws.status.ip ? ws.status.ip : undefined;
}

/**
 * A workspace whose instance runs at a known IP and whose IDE is all it waits for (VMReady
 * False, WaitingForIDE): its route is published already, so that the first request after
 * code-server listens gets through, rather than one made after the probe saw it, the status
 * write and a route write. Until then the IDE refuses, and Caddy's error route answers as for a
 * name without a route (the waking page; our "not running" page when the API is away): the
 * name is idle too, so the pages never call it "routed, but refuses". A workspace that still
 * clones, installs dotfiles or sets up its devcontainer is not waiting for its IDE alone: no
 * route before it is Ready.
 */
export function startingIp(ws: Workspace): string | undefined {
  if (ws.metadata.deletionTimestamp || !ws.spec?.running) return undefined;
  if (getCondition(ws.status, 'VMReady')?.reason !== 'WaitingForIDE') return undefined;
  return typeof ws.status?.ip === 'string' && ws.status.ip ? ws.status.ip : undefined;
}

/**
 * The table of what the store declares. The proxy knows workspaces by route name
 * (specs/object-key.ts: `dev`, or `dev.team-a` in namespace team-a), the controller by key.
 */
export function desiredRouteTable(workspaces: Workspace[], ports: Port[], idePort: number): RouteTable {
  const ips = new Map<string, string>();
  const table: RouteTable = { workspaces: [], ports: [] };
  for (const ws of workspaces) {
    const ip = routedIp(ws);
    if (ip) ips.set(keyOf(ws), ip);
    const upstream = ip ?? startingIp(ws);
    if (upstream) table.workspaces.push({ name: routeName(keyOf(ws)), upstream: `${upstream}:${idePort}` });
  }
  // Idle names: they exist but are not Ready, so the proxy can say "not running" (503) rather
  // than "unknown" (404). A workspace being deleted is already unknown. A starting workspace's
  // name is both routed and idle (startingIp); its Ports wait for Ready.
  const idle = { workspaces: [] as string[], ports: [] as string[] };
  const present = new Set<string>();
  for (const ws of workspaces) {
    if (ws.metadata.deletionTimestamp) continue;
    present.add(keyOf(ws));
    if (!ips.has(keyOf(ws))) idle.workspaces.push(routeName(keyOf(ws)));
  }
  for (const p of ports) {
    if (p.metadata.deletionTimestamp) continue;
    const ws = siblingKey(keyOf(p), p.spec.workspace);
    const ip = ips.get(ws);
    if (ip) table.ports.push({ workspace: routeName(ws), port: p.spec.port, upstream: `${ip}:${p.spec.port}` });
    else if (present.has(ws)) idle.ports.push(`${routeName(ws)}/${p.spec.port}`);
  }
  if (idle.workspaces.length || idle.ports.length) table.idle = idle;
  return sortRouteTable(table);
}

export async function reconcileRoutes(ctx: Context): Promise<Result> {
  const workspaces = ctx.store.list('Workspace').items;
  const desired = desiredRouteTable(workspaces, ctx.store.list('Port').items, ctx.idePort);
  let live: RouteTable | null | undefined;
  try {
    live = await ctx.proxy.read();
    if (!live || !routeTablesEqual(live, desired)) {
      await ctx.proxy.apply(desired);
      ctx.logger.info({ workspaces: desired.workspaces.length, ports: desired.ports.length }, 'route table applied');
      live = desired;
    }
  } catch (err) {
    const message = errorMessage(err);
    const wasError = ctx.routes.lastError;
    ctx.routes.lastError = message;
    ctx.routes.lastErrorReason = err instanceof ProxyError ? err.reason : 'ProxyError';
    // After a failed read nothing is known to be live; after a failed apply, what was read is.
    const changed = ctx.routes.setLive(live ?? undefined);
    if (wasError !== message) enqueueAll(ctx, workspaces);
    else enqueueChanged(ctx, changed);
    throw err;
  }
  const hadError = ctx.routes.lastError !== undefined;
  ctx.routes.lastError = undefined;
  const changed = ctx.routes.setLive(live);
  if (hadError) enqueueAll(ctx, workspaces);
  else enqueueChanged(ctx, changed);
  return {};
}

function enqueueChanged(ctx: Context, changed: { workspaces: Set<string>; ports: Set<string> }): void {
  for (const name of changed.workspaces) ctx.queue.add(workspaceKey(name));
  for (const key of changed.ports) {
    const i = key.lastIndexOf('/');
    const ws = key.slice(0, i);
    const port = Number(key.slice(i + 1));
    const found = ctx.store.portsOf(ws).find((p) => p.spec.port === port);
    if (found) ctx.queue.add(portKey(keyOf(found)));
    ctx.queue.add(workspaceKey(ws));
  }
}

/** The proxy's health changed: every workspace and port may show it (or stop showing it). */
function enqueueAll(ctx: Context, workspaces: Workspace[]): void {
  for (const ws of workspaces) {
    ctx.queue.add(workspaceKey(keyOf(ws)));
    for (const p of ctx.store.portsOf(keyOf(ws))) ctx.queue.add(portKey(keyOf(p)));
  }
}
