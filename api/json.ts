// JSON of stored objects. Stored objects are frozen and replaced (never changed) on every
// write, so an object's serialization can be kept for as long as the object lives: a list,
// a get and every watcher of a change share one JSON.stringify.
import type { Resource } from '../store/index.js';

const serialized = new WeakMap<object, string>();

export function objectJson(o: Resource): string {
  let s = serialized.get(o);
  if (s === undefined) serialized.set(o, (s = JSON.stringify(o)));
  return s;
}
