// The apply path a sync uses: the same `applyDocuments` as `tidepool apply` and the
// REST apply endpoint (store/apply), so a folder and a command line mean the same thing.
import type { ApplyResultItem } from '../specs/apply.js';
import type { ApplyOptions, ParsedDocuments } from '../store/apply/index.js';
import type { StoreClient } from '../store/index.js';

export type { ApplyOptions };

export interface ApplySourceText {
  name?: string;
  text: string;
}

/** What an apply did to one object (the sync reports these). */
export type ApplyResult = ApplyResultItem;

/** Applies every document in one transaction, or throws a StoreError and applies nothing. */
export type ApplyFn = (
  store: StoreClient,
  input: readonly ApplySourceText[] | ParsedDocuments,
  opts: ApplyOptions,
) => Promise<ApplyResult[]>;

/** `applyDocuments` of store/apply, loaded on first use. */
export async function defaultApply(): Promise<ApplyFn> {
  const { applyDocuments } = await import('../store/apply/index.js');
  return async (store, sources, opts) => (await applyDocuments(store, sources, opts)).results;
}

/**
 * True when an apply was refused because it holds no objects and would prune everything
 * of its applyset (applyDocuments without allowEmptyPrune).
 */
export function isEmptyPruneRefusal(causes: readonly { field?: string; reason?: string }[]): boolean {
  return causes.some((c) => c.field === 'allowEmptyPrune');
}
