// Where in Incus this Tidepool works: one client, one project (a query parameter on every
// path), and which instances are its own (marked with its id, named with its suffix). Every
// part of the Incus driver (instances, homes, events) reads Incus through one scope.
import { RuntimeError, type ExecOptions, type ExecResult } from '../types.js';
import type { IncusClient } from './client.js';
import { execIn } from './exec.js';
import { isOfflineStub, type Instance } from './mapping.js';
import { CONFIG_BUILDER, CONFIG_ID, CONFIG_WARM, CONFIG_WORKSPACE, instanceName, plainWorkspaceOf } from './names.js';

export class IncusScope {
  readonly client: IncusClient;
  readonly tidepoolId: string;
  readonly #projectParam: string;
  /** Workspaces whose instance has another name than the usual one (taken from the warm pool and not renamed yet). */
  readonly #placed = new Map<string, string>();
  /** Instances seen to be this Tidepool's (in a listing or a look, by their config): safe to act on without a look. */
  readonly #ours = new Set<string>();

  constructor(client: IncusClient, tidepoolId: string, project: string | undefined) {
    this.client = client;
    this.tidepoolId = tidepoolId;
    this.#projectParam = project ? `project=${encodeURIComponent(project)}` : '';
  }

  /** `path` with the project and `extra` query parameters appended. */
  query(path: string, ...extra: string[]): string {
    const params = [this.#projectParam, ...extra].filter(Boolean).join('&');
    return params ? `${path}${path.includes('?') ? '&' : '?'}${params}` : path;
  }

  /** The API path of an instance by its Incus name (no query). */
  instancePath(instance: string): string {
    return `/1.0/instances/${encodeURIComponent(instance)}`;
  }

  /** The Incus instance name of a workspace: the usual one, unless its instance came from the warm pool. */
  instanceName(workspace: string): string {
    return this.#placed.get(workspace) ?? this.coldName(workspace);
  }

  /** The name a workspace's instance gets when made for it (names.ts); its home is named after it. */
  coldName(workspace: string): string {
    return instanceName(workspace, this.tidepoolId);
  }

  /** Records which instance a workspace has (seen in a listing, or just taken from the warm pool). */
  place(workspace: string, instance: string): void {
    if (instance === this.coldName(workspace)) this.#placed.delete(workspace);
    else this.#placed.set(workspace, instance);
  }

  /** A command in the instance (by its Incus name) with recorded output (./exec.ts). */
  exec(instance: string, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return execIn(this.client, this.instancePath(instance), (p) => this.query(p), argv, opts);
  }

  /** Remembers whether an instance was seen to be a workspace's of this Tidepool. */
  seen(i: Instance, ours: boolean): void {
    if (ours) this.#ours.add(i.name);
    else this.#ours.delete(i.name);
  }

  /** Forgets an instance (deleted or renamed). */
  forget(instance: string): void {
    this.#ours.delete(instance);
  }

  /** Whether the instance was last seen to be this Tidepool's. */
  isOurs(instance: string): boolean {
    return this.#ours.has(instance);
  }

  /** The workspace an instance belongs to, or undefined when the instance is not this Tidepool's or is in the warm pool. */
  workspaceOf(i: Instance): string | undefined {
    // An instance on an offline member comes without config: only its name says whose it is.
    if (isOfflineStub(i)) return plainWorkspaceOf(i.name, this.tidepoolId);
    const cfg = i.config ?? {};
    if (cfg[CONFIG_ID] !== this.tidepoolId || cfg[CONFIG_WARM] || cfg[CONFIG_BUILDER]) return undefined;
    return cfg[CONFIG_WORKSPACE] || plainWorkspaceOf(i.name, this.tidepoolId);
  }

  /** Whether an instance is this Tidepool's warm-pool instance. */
  isWarm(i: Instance): boolean {
    return i.config?.[CONFIG_ID] === this.tidepoolId && !!i.config?.[CONFIG_WARM];
  }

  /** Whether the image alias is missing in the project (a 404); other failures throw. */
  async aliasMissing(alias: string): Promise<boolean> {
    try {
      await this.client.call('GET', this.query(`/1.0/images/aliases/${encodeURIComponent(alias)}`));
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }
}

/** Incus answered 404: the object is not there (which callers often take as done). */
export function isNotFound(err: unknown): boolean {
  return err instanceof RuntimeError && err.code === 404;
}
