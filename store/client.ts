// What the controller, the sync and the activity log use of the store: reads, watches and
// transactions, without the store's lifecycle (open, close, health) or its implementation.
import type { Store } from './store.js';

/**
 * The store as its in-process clients see it.
 *
 * Guarantee: a write is visible to the next read (`get`, `list`, a transaction's reads) before
 * the write's promise settles, so a reconciler reads back its own status write at once (the
 * status writer relies on it). A write whose promise rejects was never made durable and is no
 * longer served. Watchers hear of a write only once it is durable, in commit order.
 * `portsOf` is a field index (Ports by spec.workspace) of what watchers have been told; a
 * MODIFIED watch event carries the object before the change (`previous`).
 * Errors are StoreErrors (store/errors.ts): their `reason` says what went wrong.
 * Objects handed out are deep-frozen: clone before changing.
 */
export type StoreClient = Pick<
  Store,
  'get' | 'list' | 'portsOf' | 'watch' | 'transaction' | 'transactionAsync' | 'updateStatus' | 'now'
>;
