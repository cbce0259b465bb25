// The UI's view of the REST API (same origin, under /api/v1; the browser does the basic auth).
// Types come from specs/: the one source of resource shapes.
import type { Condition, StatusObject } from '../../specs/meta.js';
import type { Workspace } from '../../specs/workspace.js';

export type { Condition, StatusCause } from '../../specs/meta.js';
export type { Workspace, WorkspacePhase } from '../../specs/workspace.js';
export type { Port } from '../../specs/port.js';
export type { Event } from '../../specs/event.js';
export type { Sync } from '../../specs/sync.js';

export const API_BASE = '/api/v1';

/** An API call that did not succeed, with the server's Status message when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Turns a non-2xx reply into an ApiError: "Conflict: the object has been modified" or "HTTP 502". */
export async function apiError(res: Response): Promise<ApiError> {
  let status: Partial<StatusObject> | undefined;
  try {
    status = (await res.json()) as Partial<StatusObject>;
  } catch {
    status = undefined;
  }
  if (status && typeof status.message === 'string' && status.message) {
    const text = status.reason ? `${status.reason}: ${status.message}` : status.message;
    return new ApiError(text, res.status, status.reason);
  }
  return new ApiError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, res.status);
}

/** Sets a Workspace's spec.running with a JSON merge patch; resolves to the updated Workspace. */
export async function setRunning(
  name: string,
  running: boolean,
  fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  base = API_BASE,
): Promise<Workspace> {
  let res: Response;
  try {
    res = await fetchFn(`${base}/workspaces/${encodeURIComponent(name)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', accept: 'application/json' },
      body: JSON.stringify({ spec: { running } }),
    });
  } catch (err) {
    throw new ApiError(`Network error: ${(err as Error).message}`, 0);
  }
  if (!res.ok) throw await apiError(res);
  return (await res.json()) as Workspace;
}

/** The condition of a type (Ready by default), if the controller wrote one. */
export function condition(conditions: readonly Condition[] | undefined, type = 'Ready'): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Where the page finds the workspace server (a different origin: 8081 by default). */
export interface UiConfig {
  /** Origin of the workspace server, e.g. "http://host:8081"; IDEs are at {workspaceBaseUrl}/workspace/{ws}/. */
  workspaceBaseUrl: string;
}

/** The same host name as the page, on port 8081. */
export function defaultConfig(loc: Pick<Location, 'protocol' | 'hostname'> = location): UiConfig {
  return { workspaceBaseUrl: `${loc.protocol}//${loc.hostname}:8081` };
}

/** Reads config.json beside the page (written by `tidepool serve`); falls back to the defaults. */
export async function loadConfig(
  url = '/app/config.json',
  fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  loc: Pick<Location, 'protocol' | 'hostname'> = location,
): Promise<UiConfig> {
  const config = defaultConfig(loc);
  try {
    const res = await fetchFn(url, { headers: { accept: 'application/json' } });
    if (!res.ok) return config;
    const body = (await res.json()) as Partial<UiConfig> & { workspacePort?: unknown };
    if (typeof body.workspaceBaseUrl === 'string' && body.workspaceBaseUrl) config.workspaceBaseUrl = body.workspaceBaseUrl;
    else if (typeof body.workspacePort === 'number') config.workspaceBaseUrl = `${loc.protocol}//${loc.hostname}:${body.workspacePort}`;
  } catch {
    // No config.json (or not JSON): the defaults stand.
  }
  return config;
}

/** The IDE of a workspace: {base}/workspace/{ws}/ */
export function ideUrl(config: UiConfig, workspace: string): string {
  return `${config.workspaceBaseUrl.replace(/\/+$/, '')}/workspace/${encodeURIComponent(workspace)}/`;
}

/** A published port of a workspace: {base}/workspace/{ws}/port/{n}/ */
export function portUrl(config: UiConfig, workspace: string, port: number): string {
  return `${ideUrl(config, workspace)}port/${port}/`;
}
