import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, ListOf, ObjectMeta } from './meta.js';

/** A record of something the controller did or failed to do, Kubernetes style. Written by the server only. */
export const Event = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Event'),
    metadata: ObjectMeta,
    regarding: Type.Object({
      kind: Type.String(),
      name: Type.String(),
      namespace: Type.Optional(Type.String({ description: 'Absent: the default namespace.' })),
      uid: Type.Optional(Type.String()),
    }),
    reason: Type.String({ description: 'CamelCase: Created, Started, StartFailed, InsufficientCapacity, ...' }),
    note: Type.String(),
    type: Type.Union([Type.Literal('Normal'), Type.Literal('Warning')]),
    count: Type.Integer({ description: 'How many times this same event happened in a row.' }),
    firstTimestamp: Type.String({ format: 'date-time' }),
    lastTimestamp: Type.String({ format: 'date-time' }),
    reportingController: Type.Optional(Type.String()),
  },
  { additionalProperties: false, $id: 'Event' },
);
export type Event = Static<typeof Event>;
export const EventList = ListOf('Event', Event);
