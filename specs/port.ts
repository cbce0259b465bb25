import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, ListOf, Name, ObjectMeta } from './meta.js';

/** DESIGN.md: at most 5 Ports may name one Workspace. */
export const MAX_PORTS_PER_WORKSPACE = 5;

export const PortSpec = Type.Object(
  {
    workspace: Name,
    port: Type.Integer({ minimum: 1024, maximum: 65535, description: 'TCP port inside the workspace, 1024..65535.' }),
  },
  { additionalProperties: false },
);
export type PortSpec = Static<typeof PortSpec>;

/** The phases the controller writes for a Port: Ready once its route serves, Pending until then. */
export const PORT_PHASES = ['Pending', 'Ready'] as const;
export type PortPhase = (typeof PORT_PHASES)[number];

export const PortStatus = Type.Object({
  // A string in the schema (not PORT_PHASES): a store written by an older server loads as it is.
  phase: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  url: Type.Optional(Type.String({ description: 'Path on the workspace server: /workspace/{ws}/port/{n}/' })),
  conditions: Type.Optional(Type.Array(Condition)),
});
export type PortStatus = Static<typeof PortStatus>;

export const Port = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Port'),
    metadata: ObjectMeta,
    spec: PortSpec,
    status: Type.Optional(PortStatus),
  },
  { additionalProperties: false, $id: 'Port' },
);
export type Port = Static<typeof Port>;
export const PortList = ListOf('Port', Port);
