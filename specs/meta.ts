// Shared pieces of every resource: object metadata, conditions, the Status error
// object and list envelopes. Kubernetes API conventions, trimmed to what Tidepool uses.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const API_VERSION = 'tidepool/v1';

/** RFC 1123 DNS label: what Kubernetes accepts as a name, and what Incus accepts as an instance name. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const Name = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: DNS_LABEL,
  patternMessage: "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  description: 'A DNS label: lowercase letters, digits and hyphens, 1..63, starting and ending alphanumeric.',
});

/**
 * Label keys are `[prefix/]name`, as in Kubernetes: the prefix a DNS subdomain (at most 253
 * characters, dot-separated DNS labels of at most 63), the name at most 63 characters.
 */
export const LABEL_KEY =
  '^((?=[-a-z0-9.]{1,253}/)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';

export const Labels = Type.Record(
  Type.String({ pattern: LABEL_KEY, maxLength: 317 }),
  Type.String({ pattern: LABEL_VALUE, maxLength: 63 }),
  {
    description: 'Identifying key/value pairs, matched by labelSelector.',
    additionalProperties: false,
  },
);
export const Annotations = Type.Record(
  Type.String({ pattern: LABEL_KEY, maxLength: 317 }),
  Type.String({ maxLength: 65536 }),
  {
    additionalProperties: false,
  },
);

export const OwnerReference = Type.Object(
  {
    apiVersion: Type.String(),
    kind: Type.String(),
    name: Name,
    uid: Type.String(),
    controller: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type OwnerReference = Static<typeof OwnerReference>;

const Timestamp = Type.String({ format: 'date-time', description: 'UTC, RFC 3339.' });

export const ManagedFieldsEntry = Type.Object(
  {
    manager: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Who wrote: sync:NAME, tidepool-apply, tidepool-power (start/stop), tidepool-ui, tidepool-api.',
    }),
    operation: Type.Union([Type.Literal('Apply'), Type.Literal('Update')], {
      description: 'Apply: declared in a manifest; Update: set by a patch or an update.',
    }),
    time: Timestamp,
    fields: Type.Array(Type.String({ maxLength: 400 }), {
      maxItems: 256,
      description: 'The fields this manager last set: spec.resources.cpu, metadata.labels[team].',
    }),
  },
  { additionalProperties: false },
);
export type ManagedFieldsEntry = Static<typeof ManagedFieldsEntry>;

export const ObjectMeta = Type.Object(
  {
    name: Name,
    namespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        pattern: DNS_LABEL,
        patternMessage:
          "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
        description:
          'The namespace the object lives in (a DNS label). Absent: `default`. Names are unique per namespace and kind.',
      }),
    ),
    uid: Type.Optional(Type.String({ description: 'Server-set, unique for the lifetime of the object.' })),
    generation: Type.Optional(Type.Integer({ description: 'Server-set; bumped on every spec change.' })),
    resourceVersion: Type.Optional(
      Type.String({ description: 'Server-set on every write. Sent back on a write, a stale value gets 409 Conflict.' }),
    ),
    creationTimestamp: Type.Optional(Timestamp),
    deletionTimestamp: Type.Optional(Timestamp),
    labels: Type.Optional(Labels),
    annotations: Type.Optional(Annotations),
    finalizers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 16 })),
    ownerReferences: Type.Optional(Type.Array(OwnerReference, { maxItems: 4 })),
    managedFields: Type.Optional(
      Type.Array(ManagedFieldsEntry, {
        maxItems: 16,
        description: 'Server-set: which manager owns which fields (as Kubernetes server-side apply records them).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ObjectMeta = Static<typeof ObjectMeta>;

export const ConditionStatus = Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]);

export const Condition = Type.Object(
  {
    type: Type.String(),
    status: ConditionStatus,
    reason: Type.String({ description: 'CamelCase, machine-readable.' }),
    message: Type.String({ description: 'What a person can act on.' }),
    lastTransitionTime: Timestamp,
    observedGeneration: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type Condition = Static<typeof Condition>;

export const StatusCause = Type.Object({
  field: Type.Optional(Type.String({ description: 'Field path, e.g. spec.resources.memory.' })),
  reason: Type.String(),
  message: Type.String(),
  document: Type.Optional(Type.Integer({ description: 'Index of the document in a multi-document apply, from 0.' })),
  file: Type.Optional(Type.String()),
  line: Type.Optional(Type.Integer({ description: 'From 1.' })),
  column: Type.Optional(Type.Integer({ description: 'From 1.' })),
});
export type StatusCause = Static<typeof StatusCause>;

/** The error object of every non-2xx reply. */
export const StatusObject = Type.Object({
  apiVersion: Type.Literal('v1'),
  kind: Type.Literal('Status'),
  status: Type.Literal('Failure'),
  code: Type.Integer(),
  reason: Type.String({
    description: 'NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Unauthorized, Gone, ...',
  }),
  message: Type.String(),
  details: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      causes: Type.Optional(Type.Array(StatusCause)),
    }),
  ),
});
export type StatusObject = Static<typeof StatusObject>;

export function ListOf<T extends TSchema>(kind: string, item: T) {
  return Type.Object({
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(`${kind}List`),
    metadata: Type.Object({ resourceVersion: Type.String() }),
    items: Type.Array(item),
  });
}
