import type { ObjectMeta } from '../specs/index.js';

/** Any stored object. Objects handed out by the store are deep-frozen: clone before changing. */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [field: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: Resource;
}

/** The on-disk shape of the store file. */
export interface StoreFile {
  format: 'tidepool.store/v1';
  resourceVersion: number;
  objects: Record<string, Record<string, Resource>>;
}
