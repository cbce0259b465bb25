// Quota: what the workspaces of one namespace (one person's) may hold together, declared by an
// admin as a resource like any other. A Quota without spec.namespace is the default for every
// namespace; one with it overrides the default for that namespace. Admission (store/strategies/
// quota.ts) refuses a create, update or start that would go over, naming the quota and the figures.
//
//   apiVersion: tidepool/v1
//   kind: Quota
//   metadata: {name: everyone}
//   spec: {workspaces: 3, cpu: 8, memory: 16Gi}
//   ---
//   kind: Quota
//   metadata: {name: alice}
//   spec: {namespace: alice, workspaces: 10}
import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, DNS_LABEL, ListOf, ObjectMeta } from './meta.js';
import { QUANTITY_PATTERN } from './quantity.js';

export const QuotaSpec = Type.Object(
  {
    namespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        pattern: DNS_LABEL,
        patternMessage: "must be a DNS label: lowercase letters, digits and '-'",
        description: 'The namespace (person) this quota is for. Absent: the default for every namespace without one.',
      }),
    ),
    workspaces: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100000,
        description: 'Most Workspaces the namespace may have. Absent: no limit.',
      }),
    ),
    cpu: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100000,
        description: 'Most vCPUs (spec.resources.cpu) of its running workspaces together. Absent: no limit.',
      }),
    ),
    memory: Type.Optional(
      Type.String({
        pattern: QUANTITY_PATTERN,
        patternMessage: 'must be a quantity such as 512Mi or 16Gi',
        description: 'Most memory (spec.resources.memory) of its running workspaces together. Absent: no limit.',
      }),
    ),
  },
  { default: {}, additionalProperties: false },
);
export type QuotaSpec = Static<typeof QuotaSpec>;

export const Quota = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Quota'),
    metadata: ObjectMeta,
    spec: QuotaSpec,
  },
  { additionalProperties: false, $id: 'Quota' },
);
export type Quota = Static<typeof Quota>;
export const QuotaList = ListOf('Quota', Quota);

/** What a namespace holds, counted as admission counts it. */
export interface QuotaFigures {
  workspaces: number;
  cpu: number;
  /** Bytes. */
  memoryBytes: number;
}

/** GET /api/v1/namespaces/{ns}/quota: a namespace's use against its quota. */
export interface QuotaUsage {
  apiVersion: typeof API_VERSION;
  kind: 'QuotaUsage';
  namespace: string;
  /** The Quota that applies (its name), or none: no limit. */
  quota?: string;
  /** Its limits; a figure absent is not limited. */
  limits: { workspaces?: number; cpu?: number; memory?: string };
  used: { workspaces: number; cpu: number; memory: string };
}

export interface QuotaUsageList {
  apiVersion: typeof API_VERSION;
  kind: 'QuotaUsageList';
  items: QuotaUsage[];
}
