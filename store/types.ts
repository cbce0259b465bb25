import type { KindName, KindTypes, ObjectMeta, StatusOf } from '../specs/index.js';

/**
 * A stored object of a kind not known at compile time (generic API code reads these). Its
 * spec and status are whatever the kind's schema says: narrow with the kind's type
 * (`ObjectOf<'Workspace'>`, what `store.get('Workspace', …)` returns) before reading them.
 * Objects handed out by the store are deep-frozen: clone before changing.
 */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** The object type of kind `K`: `Workspace` for 'Workspace', Resource for a kind only known at run time. */
export type ObjectOf<K extends string> = K extends KindName ? KindTypes[K] : Resource;

/** What `updateStatus` of kind `K` takes: the kind's status type (anything for a kind known only at run time). */
export type StatusArg<K extends string> = K extends KindName ? StatusOf<K> : unknown;

/** Narrows an object of a kind known only at run time (a watch of every kind) to its kind's type. */
export function isKind<K extends KindName>(o: Resource, kind: K): o is Resource & KindTypes[K] {
  return o.kind === kind;
}

/**
 * An object read from under kind K: the store keeps each object under its own kind (a
 * transaction and the loader put it there, checked against the kind's schema), so it is an
 * ObjectOf<K>. The one place reads assert it; the compiler cannot follow a kind in a key.
 */
export function asKind<K extends string>(o: Resource | undefined): ObjectOf<K> | undefined {
  return o as ObjectOf<K> | undefined;
}

/** The objects listed under kind K (see asKind). */
export function asKindList<K extends string>(os: Resource[]): ObjectOf<K>[] {
  return os as ObjectOf<K>[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T = Resource> {
  type: WatchEventType;
  object: T;
  /**
   * Of a MODIFIED event: the object before the change (what the previous event of this
   * object carried), as an informer hands its update handlers the old and the new object.
   */
  previous?: T;
}

/** The on-disk shape of the store file. */
export interface StoreFile {
  format: 'tidepool.store/v1';
  resourceVersion: number;
  objects: Record<string, Record<string, Resource>>;
}
