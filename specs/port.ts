import { Type, type Static } from '@sinclair/typebox';
import { API_VERSION, Condition, ListOf, Name, ObjectMeta, type StatusCause } from './meta.js';
import { IDE_PORT } from './workspace.js';

/** DESIGN.md: at most 5 Ports may name one Workspace. */
export const MAX_PORTS_PER_WORKSPACE = 5;

/** Who may open a Port through the proxy. */
export const PORT_VISIBILITIES = ['private', 'team', 'public'] as const;
export type PortVisibility = (typeof PORT_VISIBILITIES)[number];

export const PortSpec = Type.Object(
  {
    workspace: Name,
    port: Type.Integer({ minimum: 1024, maximum: 65535, description: 'TCP port inside the workspace, 1024..65535.' }),
    visibility: Type.Optional(
      Type.Union(
        PORT_VISIBILITIES.map((v) => Type.Literal(v)),
        {
          default: 'private',
          description:
            "Who may open the Port through the proxy: private (the owner, the person of the Port's namespace, and admins), " +
            'team (anyone signed in), public (anyone with the share link, no sign-in: GET /api/v1/ports/{name}/share gives ' +
            'the link to the owner, POST .../share/rotate makes a new one). Defaults to private.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type PortSpec = Static<typeof PortSpec>;

/**
 * A Port's rules beyond its schema: it may not publish the IDE's own port. The IDE is served on
 * the workspace origin (:8081) behind Tidepool's login; the same IDE on the preview origin
 * (:8082), where any dev server's page runs, would hand that page a terminal in the workspace.
 * Checked on every write (validateManifest), not when the store loads: a Port stored before
 * this rule still loads, and the proxy refuses to route it (idePortRefused in the Caddy driver).
 */
export function portSpecCauses(spec: { port?: unknown } | undefined): StatusCause[] {
  if (spec?.port !== IDE_PORT) return [];
  return [
    {
      field: 'spec.port',
      reason: 'FieldValueForbidden',
      message: `Forbidden: ${IDE_PORT} is the port of the workspace's IDE (code-server), which is reached at /workspace/{name}/ on the workspace port; publishing it as a Port would serve the IDE, with its terminals, on the preview origin where dev servers' pages run. Choose another port`,
    },
  ];
}

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
