// The UI's view of the REST API (same origin, under /api/v1; the browser does the basic auth).
// Types come from specs/: the one source of resource shapes.
import type { Condition, StatusCause, StatusObject } from '../../specs/meta.js';
import type { Workspace } from '../../specs/workspace.js';
import type { Port, PortVisibility } from '../../specs/port.js';
import { errorMessage } from '../../specs/errors.js';

export type { Condition, StatusCause } from '../../specs/meta.js';
export type { Workspace, WorkspacePhase } from '../../specs/workspace.js';
export type { Port, PortVisibility } from '../../specs/port.js';
export type { Event } from '../../specs/event.js';
export type { Sync } from '../../specs/sync.js';

export const API_BASE = '/api/v1';

/**
 * Where the API keeps namespace `ns`'s objects: /api/v1/namespaces/{ns}. Without one, today's
 * paths, which the server reads as the person's own namespace.
 */
export function namespaceBase(ns: string | undefined): string {
  return ns ? `${API_BASE}/namespaces/${encodeURIComponent(ns)}` : API_BASE;
}

/** A namespace's use against its quota (GET …/quotausage; specs/quota.ts). */
export type { QuotaUsage } from '../../specs/quota.js';

/** An API call that did not succeed, with the server's Status message (and its causes) when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason?: string,
    /** details.causes of the Status: each names the field (spec.port, metadata.name) it is about. */
    readonly causes: readonly StatusCause[] = [],
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
    const causes = Array.isArray(status.details?.causes) ? status.details.causes : [];
    return new ApiError(text, res.status, status.reason, causes);
  }
  return new ApiError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, res.status);
}

type Fetch = typeof fetch;
const defaultFetch: Fetch = (...args) => globalThis.fetch(...args);

/** One API call: JSON in and out; a failure is an ApiError (a network failure has code 0). */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  fetchFn: Fetch = defaultFetch,
  contentType = 'application/json',
): Promise<T> {
  let res: Response;
  try {
    res = await fetchFn(path, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError(`Network error: ${errorMessage(err)}`, 0);
  }
  if (!res.ok) throw await apiError(res);
  return (await res.json()) as T;
}

/** Sets a Workspace's spec.running with a JSON merge patch; resolves to the updated Workspace. */
export function setRunning(
  name: string,
  running: boolean,
  fetchFn: Fetch = defaultFetch,
  base = API_BASE,
): Promise<Workspace> {
  // The start/stop manager, as the CLI's: refused (409, naming the file) when a sync's file sets spec.running.
  return request<Workspace>(
    'PATCH',
    `${base}/workspaces/${encodeURIComponent(name)}?fieldManager=tidepool-power`,
    { spec: { running } },
    fetchFn,
    'application/merge-patch+json',
  );
}

/** Wakes a sleeping Workspace, or puts a running one to sleep (POST /api/v1/workspaces/{name}/wake|sleep). */
export function sleepOrWake(
  name: string,
  verb: 'wake' | 'sleep',
  fetchFn: Fetch = defaultFetch,
  base = API_BASE,
): Promise<unknown> {
  return request<unknown>('POST', `${base}/workspaces/${encodeURIComponent(name)}/${verb}`, undefined, fetchFn);
}

/** What the create form asks for. */
export interface NewWorkspace {
  name: string;
  image: string;
  cpu: number;
  memory: string;
  /** Start the home as a copy of this workspace's (spec.source.fromWorkspace); empty for a fresh home. */
  fromWorkspace?: string;
  /** Sleep after this long unused (spec.idleTimeout, e.g. 30m); absent for the server's default. */
  idleTimeout?: string;
}

/** The Workspace object the create form posts: running at once. */
export function workspaceObject(w: NewWorkspace): Record<string, unknown> {
  return {
    apiVersion: 'tidepool/v1',
    kind: 'Workspace',
    metadata: { name: w.name },
    spec: {
      image: w.image,
      running: true,
      resources: { cpu: w.cpu, memory: w.memory },
      ...(w.fromWorkspace ? { source: { fromWorkspace: w.fromWorkspace } } : {}),
      ...(w.idleTimeout ? { idleTimeout: w.idleTimeout } : {}),
    },
  };
}

export function createWorkspace(w: NewWorkspace, fetchFn: Fetch = defaultFetch, base = API_BASE): Promise<Workspace> {
  return request<Workspace>('POST', `${base}/workspaces`, workspaceObject(w), fetchFn);
}

/** Deletes an object of a kind (by plural): the server answers with the object, marked for deletion or gone. */
export function deleteObject(
  plural: 'workspaces' | 'ports',
  name: string,
  fetchFn: Fetch = defaultFetch,
  base = API_BASE,
  opts: { force?: boolean } = {},
): Promise<unknown> {
  // force: the user confirmed deleting what a sync folder manages (the server refuses it otherwise).
  return request<unknown>(
    'DELETE',
    `${base}/${plural}/${encodeURIComponent(name)}${opts.force ? '?force=true' : ''}`,
    undefined,
    fetchFn,
  );
}

/** Publishes a port of a workspace as the Port "{workspace}-{port}". */
export function createPort(
  workspace: string,
  port: number,
  fetchFn: Fetch = defaultFetch,
  base = API_BASE,
): Promise<Port> {
  const body = {
    apiVersion: 'tidepool/v1',
    kind: 'Port',
    metadata: { name: `${workspace}-${port}` },
    spec: { workspace, port },
  };
  return request<Port>('POST', `${base}/ports`, body, fetchFn);
}

/** Sets who may open a Port (spec.visibility) with a JSON merge patch. */
export function setPortVisibility(
  name: string,
  visibility: PortVisibility,
  fetchFn: Fetch = defaultFetch,
  base = API_BASE,
): Promise<Port> {
  return request<Port>(
    'PATCH',
    `${base}/ports/${encodeURIComponent(name)}?fieldManager=tidepool-ui`,
    { spec: { visibility } },
    fetchFn,
    'application/merge-patch+json',
  );
}

/** A Port's share link (for its owner): opens it without sign-in while it is public. */
export interface PortShare {
  visibility: PortVisibility;
  token: string;
  /** /workspace/{ws}/port/{n}/tp-share/{token}/ */
  path: string;
}

/** The share link of a Port; `rotate` makes a new one (the old one stops at once). */
export function portShare(name: string, rotate = false, fetchFn: Fetch = defaultFetch, base = API_BASE) {
  const path = `${base}/ports/${encodeURIComponent(name)}/share${rotate ? '/rotate' : ''}`;
  return request<PortShare>(rotate ? 'POST' : 'GET', path, undefined, fetchFn);
}

/** Whether something answers on a Port now, as the server sees it (a TCP connect to the workspace). */
export interface PortProbe {
  answering: boolean;
  message: string;
}

export function probePort(name: string, fetchFn: Fetch = defaultFetch, base = API_BASE): Promise<PortProbe> {
  return request<PortProbe>('GET', `${base}/ports/${encodeURIComponent(name)}/probe`, undefined, fetchFn);
}

/** The condition of a type (Ready by default), if the controller wrote one. */
export function condition(conditions: readonly Condition[] | undefined, type = 'Ready'): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Where the page finds the workspace server (a different origin: 8081 by default). */
export interface UiConfig {
  /** Origin of the workspace server, e.g. "http://host:8081"; IDEs are at {workspaceBaseUrl}/workspace/{ws}/. */
  workspaceBaseUrl: string;
  /** The image template names (spec.image) the server knows; the create form offers them. */
  imageTemplates?: string[];
  /** Whether this server records workspaces' last access (through Caddy's access log). */
  reportsAccess?: boolean;
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
    if (typeof body.workspaceBaseUrl === 'string' && body.workspaceBaseUrl)
      config.workspaceBaseUrl = body.workspaceBaseUrl;
    else if (typeof body.workspacePort === 'number')
      config.workspaceBaseUrl = `${loc.protocol}//${loc.hostname}:${body.workspacePort}`;
    if (typeof body.reportsAccess === 'boolean') config.reportsAccess = body.reportsAccess;
    if (Array.isArray(body.imageTemplates))
      config.imageTemplates = body.imageTemplates.filter((t): t is string => typeof t === 'string');
  } catch {
    // No config.json (or not JSON): the defaults stand.
  }
  return config;
}

/** The IDE of a workspace: {base}/workspace/{ws}/, or {base}/ns/{ns}/workspace/{ws}/ outside the default namespace. */
export function ideUrl(config: UiConfig, workspace: string, namespace?: string): string {
  const ns = namespace && namespace !== 'default' ? `/ns/${encodeURIComponent(namespace)}` : '';
  return `${config.workspaceBaseUrl.replace(/\/+$/, '')}${ns}/workspace/${encodeURIComponent(workspace)}/`;
}

/** A published port of a workspace: {base}/workspace/{ws}/port/{n}/ (under /ns/{ns} outside the default namespace). */
export function portUrl(config: UiConfig, workspace: string, port: number, namespace?: string): string {
  return `${ideUrl(config, workspace, namespace)}port/${port}/`;
}
