// A StoreClient that times each write (a write settles once it is durable): the store's write
// latency as its clients feel it, without the store knowing about metrics.
import { performance } from 'node:perf_hooks';
import type { StoreClient } from '../../store/index.js';
import type { FleetMetrics } from './names.js';

export function timedStore(store: StoreClient, client: string, m: FleetMetrics): StoreClient {
  const timed = async <T>(op: string, write: Promise<T>, t0: number): Promise<T> => {
    try {
      return await write;
    } finally {
      m.storeWrite.observe({ client, op }, (performance.now() - t0) / 1000);
    }
  };
  return {
    get: (kind, name) => store.get(kind, name),
    list: (kind, selector) => store.list(kind, selector),
    portsOf: (ws) => store.portsOf(ws),
    watch: (opts, fn) => store.watch(opts, fn),
    now: () => store.now(),
    transaction: (fn) => timed('transaction', store.transaction(fn), performance.now()),
    transactionAsync: (fn) => timed('transaction', store.transactionAsync(fn), performance.now()),
    updateStatus: (kind, name, status, rv) =>
      timed('updateStatus', store.updateStatus(kind, name, status, rv), performance.now()),
  };
}
