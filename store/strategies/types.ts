// A kind's own rules, beside the kind table (specs/kinds.ts): what the generic transaction
// (store/tx.ts) calls at each step of a write instead of asking which kind it holds.
import type { Port, Workspace } from '../../specs/index.js';
import type { ObjectOf, Resource } from '../types.js';

/** What a strategy may do inside the transaction that runs it. */
export interface StrategyTx {
  get<K extends string>(kind: K, name: string): ObjectOf<K> | undefined;
  list<K extends string>(kind: K): ObjectOf<K>[];
  /** The Ports naming workspace `ws`, as this transaction sees them. */
  portsOf(ws: string): Port[];
  delete(kind: string, name: string): Resource;
  /**
   * A server-side change of an object this transaction sees (e.g. its owner references):
   * `change` edits a copy, which is written with a new resourceVersion.
   */
  rewrite<T extends Resource>(obj: T, change: (next: T) => void): void;
}

export interface KindStrategy<T extends Resource = Resource> {
  /** Checks and completes a new object before it is written (after admission). Throws to refuse. */
  prepareCreate?(tx: StrategyTx, obj: T): void;
  /** Checks and completes an updated object before it is written. Throws to refuse. */
  prepareUpdate?(tx: StrategyTx, next: T, specChanged: boolean): void;
  /** Runs after a new object was written in the same transaction. */
  afterCreate?(tx: StrategyTx, obj: T): void;
  /** Runs after an object was removed in the same transaction (dependents go with it). */
  afterRemove?(tx: StrategyTx, obj: T): void;
  /** Runs once in a transaction that changed objects of this kind, before it is written. */
  beforeCommit?(tx: StrategyTx): void;
}

export type { Port, Workspace };
