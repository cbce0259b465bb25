// Incus instance names for Workspaces. One Incus can serve several Tidepools, and instance
// names are unique per Incus project, so a name carries a short suffix derived from the
// Tidepool id: "<workspace>-<6 hex>". Names stay DNS labels of at most 63 characters; a
// workspace name too long for that is cut and made unique again with a hash of the full name.
// The workspace name itself is also kept in the instance config (user.tidepool.workspace),
// which is what list() reads; the name is only an address.
import { createHash } from 'node:crypto';

export const MAX_INSTANCE_NAME = 63;
export const CONFIG_ID = 'user.tidepool.id';
export const CONFIG_WORKSPACE = 'user.tidepool.workspace';
export const CONFIG_IMAGE = 'user.tidepool.image';
/** The built image (of an ImageTemplate) an instance was made from. */
export const CONFIG_BUILD = 'user.tidepool.build';
/** On an image build's instance (no workspace's): the ImageTemplate it builds. */
export const CONFIG_BUILDER = 'user.tidepool.builder';
/** On a warm-pool instance (no workspace yet): the image template it was made from. */
export const CONFIG_WARM = 'user.tidepool.warm';
/** "true" on a pool instance once it has booted and run its IDE once (drivers/runtime/incus/warm.ts): it can be taken. */
export const CONFIG_WARM_READY = 'user.tidepool.warm-ready';

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Suffixes by Tidepool id: a reconcile names its instance every time, a hash each time adds up. */
const suffixes = new Map<string, string>();

/** The fixed-length suffix that names this Tidepool's instances. */
export function idSuffix(tidepoolId: string): string {
  let suffix = suffixes.get(tidepoolId);
  if (suffix === undefined) {
    suffix = hex(`tidepool:${tidepoolId}`, 6);
    // Ids are one per data directory: a handful in a test run, one in a server.
    if (suffixes.size < 64) suffixes.set(tidepoolId, suffix);
  }
  return suffix;
}

/**
 * The Incus instance name of a workspace for this Tidepool. `workspace` is its key
 * (specs/object-key.ts): a name in the default namespace keeps exactly the name it had before
 * namespaces (an existing install's instances are adopted, not made again); "team-a/dev" is
 * "team-a-dev-<8 hex of the key>-<suffix>", cut to fit: the hash keeps it apart from a
 * default workspace called "team-a-dev", and from other namespaces' names cut alike.
 */
export function instanceName(workspace: string, tidepoolId: string): string {
  const suffix = idSuffix(tidepoolId);
  if (workspace.includes('/')) {
    const keep = MAX_INSTANCE_NAME - suffix.length - 8 - 2;
    const cut = workspace.replace('/', '-').slice(0, keep).replace(/-+$/, '');
    return `${cut}-${hex(workspace, 8)}-${suffix}`;
  }
  const plain = `${workspace}-${suffix}`;
  if (plain.length <= MAX_INSTANCE_NAME) return plain;
  // <cut workspace>-<8 hex of the workspace>-<suffix>
  const keep = MAX_INSTANCE_NAME - suffix.length - 8 - 2;
  const cut = workspace.slice(0, keep).replace(/-+$/, '');
  return `${cut}-${hex(workspace, 8)}-${suffix}`;
}

/** The workspace name when `instance` is the plain (uncut) form for this Tidepool, else undefined. */
export function plainWorkspaceOf(instance: string, tidepoolId: string): string | undefined {
  const suffix = `-${idSuffix(tidepoolId)}`;
  if (!instance.endsWith(suffix)) return undefined;
  const ws = instance.slice(0, -suffix.length);
  return ws && instanceName(ws, tidepoolId) === instance ? ws : undefined;
}

/**
 * A warm-pool instance's name: "warm-<suffix>-<8 hex>". It does not end in "-<suffix>", so it
 * is never read as a workspace's name (plainWorkspaceOf), and events about it are ignored.
 */
export function warmInstanceName(tidepoolId: string, random: string): string {
  return `warm-${idSuffix(tidepoolId)}-${random}`;
}

/** An image build's instance: "build-<suffix>-<template>", never read as a workspace's (it does not end in the suffix). */
export function builderInstanceName(tidepoolId: string, template: string): string {
  return `build-${idSuffix(tidepoolId)}-${template}`
    .slice(0, MAX_INSTANCE_NAME)
    .replace(/[-.]+$/, '')
    .replace(/\./g, '-');
}
