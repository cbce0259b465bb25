// Where in Incus this Tidepool works: one client, one project (a query parameter on every
// path), and which instances are its own (marked with its id, named with its suffix). Every
// part of the Incus driver (instances, homes, events) reads Incus through one scope.
import { RuntimeError } from '../types.js';
import type { IncusClient } from './client.js';
import type { Instance } from './mapping.js';
import { CONFIG_ID, CONFIG_WORKSPACE, instanceName, plainWorkspaceOf } from './names.js';

export class IncusScope {
  readonly client: IncusClient;
  readonly tidepoolId: string;
  readonly #projectParam: string;

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

  /** The Incus instance name of a workspace. */
  instanceName(workspace: string): string {
    return instanceName(workspace, this.tidepoolId);
  }

  /** The workspace an instance belongs to, or undefined when the instance is not this Tidepool's. */
  workspaceOf(i: Instance): string | undefined {
    const cfg = i.config ?? {};
    if (cfg[CONFIG_ID] !== this.tidepoolId) return undefined;
    return cfg[CONFIG_WORKSPACE] || plainWorkspaceOf(i.name, this.tidepoolId);
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
