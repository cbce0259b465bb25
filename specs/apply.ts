// The answer of POST /api/v1/apply (and of `tidepool apply`): what happened to each object.
// The contract between the API and the CLI, so it lives with the other schemas.
import { type Static, Type } from '@sinclair/typebox';
import { API_VERSION } from './meta.js';

/** What an apply did to one object. */
export const APPLY_ACTIONS = ['created', 'configured', 'unchanged', 'pruned'] as const;
export type ApplyAction = (typeof APPLY_ACTIONS)[number];

export const ApplyResultItem = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  namespace: Type.Optional(
    Type.String({ description: 'Absent: the default namespace (or a kind without namespaces).' }),
  ),
  action: Type.Union(APPLY_ACTIONS.map((a) => Type.Literal(a))),
});
export type ApplyResultItem = Static<typeof ApplyResultItem>;

export const ApplyResult = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal('ApplyResult'),
  dryRun: Type.Boolean(),
  results: Type.Array(ApplyResultItem),
});
export type ApplyResult = Static<typeof ApplyResult>;
